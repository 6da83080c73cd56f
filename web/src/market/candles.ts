/** Candles for lightweight-charts: times as "KST wall clock" UTC seconds (the chart
 * shows UTC), and extending the newest candle with realtime ticks. */

export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export type Range = { period: 'D' | 'W' | 'M' | 'Y' } | { interval: '1' | '5' | '10' | '30' | '60' };

const KST_OFFSET = 9 * 3600;

export function chartTime(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000) + KST_OFFSET;
}

/** The bucket (candle start, chart time) a tick at `iso` falls in. */
export function bucketOf(iso: string, range: Range): number {
  return bucketAt(chartTime(iso), range);
}

/** The bucket start of a chart time. */
export function bucketAt(t: number, range: Range): number {
  if ('interval' in range) {
    const width = Number(range.interval) * 60;
    return Math.floor(t / width) * width;
  }
  const day = Math.floor(t / 86400) * 86400;
  if (range.period === 'D') return day;
  const d = new Date(day * 1000);
  if (range.period === 'W') {
    const weekday = (d.getUTCDay() + 6) % 7; // Monday = 0
    return day - weekday * 86400;
  }
  if (range.period === 'M') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
  return Date.UTC(d.getUTCFullYear(), 0, 1) / 1000;
}

/** Apply a trade to the bars (oldest first); returns the bar to `update()` or null
 * when the tick is older than the newest bar. Mutates `bars`. */
export function applyTick(bars: Bar[], tick: { price: number; volume: number; time: string }, range: Range): Bar | null {
  const bucket = bucketOf(tick.time, range);
  const last = bars[bars.length - 1];
  const lastBucket = last ? bucketAt(last.time, range) : -Infinity;
  if (bucket < lastBucket) return null;
  if (last && bucket === lastBucket) {
    last.close = tick.price;
    last.high = Math.max(last.high, tick.price);
    last.low = Math.min(last.low, tick.price);
    last.volume += tick.volume;
    return { ...last };
  }
  const bar = { time: bucket, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume: tick.volume };
  bars.push(bar);
  return { ...bar };
}
