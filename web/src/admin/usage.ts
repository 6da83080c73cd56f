import type { UsageRow } from '../api/endpoints';

/** Reshape the usage rows (per date + apiId) into chart series. */
export function usageSeries(rows: UsageRow[]) {
  const dates = [...new Set(rows.map((r) => r.date))].sort();
  const apiIds = [...new Set(rows.map((r) => r.apiId))].sort();
  const at = new Map(rows.map((r) => [`${r.date}|${r.apiId}`, r]));
  const callsPerDay = dates.map((d) => rows.filter((r) => r.date === d).reduce((sum, r) => sum + r.calls, 0));
  const errorsPerDay = dates.map((d) => rows.filter((r) => r.date === d).reduce((sum, r) => sum + r.errors, 0));
  const successRate = apiIds.map((api) => ({
    name: api,
    values: dates.map((d) => {
      const row = at.get(`${d}|${api}`);
      return row ? Math.round(row.successRate * 1000) / 10 : null;
    }),
  }));
  const perApi = apiIds.map((api) => {
    const mine = rows.filter((r) => r.apiId === api);
    const calls = mine.reduce((sum, r) => sum + r.calls, 0);
    const errors = mine.reduce((sum, r) => sum + r.errors, 0);
    const avg = calls ? mine.reduce((sum, r) => sum + r.avgResponseTimeMs * r.calls, 0) / calls : 0;
    const p95 = Math.max(0, ...mine.map((r) => r.p95ResponseTimeMs));
    const codes: Record<string, number> = {};
    for (const r of mine) for (const [code, n] of Object.entries(r.errorCodes)) codes[code] = (codes[code] ?? 0) + n;
    return { apiId: api, calls, errors, avg: Math.round(avg), p95: Math.round(p95), successRate: calls ? (calls - errors) / calls : 1, errorCodes: codes };
  });
  return { dates, apiIds, callsPerDay, errorsPerDay, successRate, perApi };
}
