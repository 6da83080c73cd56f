import { ApiError } from './api/client';
import { describe, expect, it } from 'vitest';
import { realtimeUrl } from './config';
import { krw } from './format';
import { usageSeries } from './admin/usage';

describe('config', () => {
  it('derives the WebSocket URL from the API base', () => {
    const page = { protocol: 'https:', host: 'app.example.com' };
    expect(realtimeUrl('', page)).toBe('wss://app.example.com/ws/realtime');
    expect(realtimeUrl('', { protocol: 'http:', host: 'localhost:8080' })).toBe('ws://localhost:8080/ws/realtime');
    expect(realtimeUrl('http://api.local:8080', page)).toBe('ws://api.local:8080/ws/realtime');
    expect(realtimeUrl('https://api.example.com/base/', page)).toBe('wss://api.example.com/base/ws/realtime');
  });
});

describe('format', () => {
  it('formats KRW the Korean way', () => {
    expect(krw(71_300, 'ko')).toBe('71,300원');
    expect(krw(71_300, 'en')).toBe('₩71,300');
    expect(krw(null)).toBe('—');
  });
});

describe('usageSeries', () => {
  it('reshapes rows per date and api id', () => {
    const row = (date: string, apiId: string, calls: number, errors: number, avg: number, p95: number) => ({
      date, apiId, calls, successCount: calls - errors, successRate: (calls - errors) / calls, avgResponseTimeMs: avg, p95ResponseTimeMs: p95, errors, errorCodes: (errors ? { '429': errors } : {}) as Record<string, number>,
    });
    const s = usageSeries([row('2026-11-24', 'ka10001', 10, 1, 50, 90), row('2026-11-25', 'ka10001', 30, 0, 30, 60), row('2026-11-25', 'kt10000', 5, 0, 100, 120)]);
    expect(s.dates).toEqual(['2026-11-24', '2026-11-25']);
    expect(s.callsPerDay).toEqual([10, 35]);
    expect(s.successRate[0]).toEqual({ name: 'ka10001', values: [90, 100] });
    expect(s.successRate[1].values).toEqual([null, 100]);
    expect(s.perApi[0]).toMatchObject({ apiId: 'ka10001', calls: 40, errors: 1, avg: 35, p95: 90, errorCodes: { '429': 1 } });
  });
});

describe('ApiError.field', () => {
  it('reads details.field and validation locations', () => {
    expect(new ApiError(422, 'invalid_tick', 'x', { field: 'stopPrice', tick: 100 }).field).toBe('stopPrice');
    expect(new ApiError(422, 'invalid_input', 'x', [{ loc: ['body', 'clientId'], msg: 'too short', type: 'string_too_short' }]).field).toBe('clientId');
    expect(new ApiError(404, 'unknown_stock', 'x', null).field).toBeNull();
  });
});
