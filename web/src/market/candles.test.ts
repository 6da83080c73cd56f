import { describe, expect, it } from 'vitest';
import { applyTick, bucketOf, chartTime, type Bar } from './candles';

describe('candles', () => {
  it('uses KST wall-clock times', () => {
    expect(chartTime('2026-11-25T09:00:00+09:00')).toBe(Date.UTC(2026, 10, 25, 9) / 1000);
    expect(bucketOf('2026-11-25T09:07:30+09:00', { interval: '5' })).toBe(Date.UTC(2026, 10, 25, 9, 5) / 1000);
    expect(bucketOf('2026-11-25T15:20:00+09:00', { period: 'D' })).toBe(Date.UTC(2026, 10, 25) / 1000);
    expect(bucketOf('2026-11-25T15:20:00+09:00', { period: 'W' })).toBe(Date.UTC(2026, 10, 23) / 1000); // Monday (the 25th is a Wednesday)
    expect(bucketOf('2026-11-25T15:20:00+09:00', { period: 'M' })).toBe(Date.UTC(2026, 10, 1) / 1000);
  });

  it('extends the newest candle, opens a new one, ignores old ticks', () => {
    const day = Date.UTC(2026, 10, 25) / 1000;
    const bars: Bar[] = [{ time: day, open: 71_000, high: 71_500, low: 70_800, close: 71_300, volume: 100 }];
    expect(applyTick(bars, { price: 71_600, volume: 10, time: '2026-11-25T10:00:00+09:00' }, { period: 'D' })).toMatchObject({ high: 71_600, close: 71_600, volume: 110 });
    expect(applyTick(bars, { price: 71_000, volume: 5, time: '2026-11-24T10:00:00+09:00' }, { period: 'D' })).toBeNull();
    const next = applyTick(bars, { price: 72_000, volume: 7, time: '2026-11-26T09:00:00+09:00' }, { period: 'D' });
    expect(next).toEqual({ time: day + 86_400, open: 72_000, high: 72_000, low: 72_000, close: 72_000, volume: 7 });
    expect(bars).toHaveLength(2);
  });
});
