import { useEffect, useRef, useState } from 'react';
import {
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import { market as api } from '../api/endpoints';
import { ErrorBox, Loading } from '../components/ui';
import { useI18n } from '../i18n';
import { useTicks } from '../realtime/RealtimeProvider';
import { applyTick, chartTime, type Bar, type Range } from './candles';

const RANGES: { key: string; range: Range }[] = [
  { key: '1', range: { interval: '1' } },
  { key: '5', range: { interval: '5' } },
  { key: '30', range: { interval: '30' } },
  { key: 'D', range: { period: 'D' } },
  { key: 'W', range: { period: 'W' } },
  { key: 'M', range: { period: 'M' } },
  { key: 'Y', range: { period: 'Y' } },
];

const UP = '#e0263a';
const DOWN = '#1f5fd6';

function volumeBar(bar: Bar) {
  return { time: bar.time as UTCTimestamp, value: bar.volume, color: bar.close >= bar.open ? 'rgba(224,38,58,0.45)' : 'rgba(31,95,214,0.45)' };
}

/** Candles + volume from the chart API, then extended by realtime ticks. */
export function PriceChart({ stockCode }: { stockCode: string }) {
  const { t } = useI18n();
  const [rangeKey, setRangeKey] = useState('D');
  const range = RANGES.find((r) => r.key === rangeKey)!.range;
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const candles = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const volumes = useRef<ISeriesApi<'Histogram'> | null>(null);
  const bars = useRef<Bar[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [count, setCount] = useState(0);
  const [round, setRound] = useState(0);

  useEffect(() => {
    if (!box.current) return undefined;
    const created = createChart(box.current, {
      autoSize: true,
      layout: { background: { color: 'transparent' }, textColor: '#8a94a6', fontSize: 11 },
      grid: { vertLines: { color: 'rgba(128,128,128,0.12)' }, horzLines: { color: 'rgba(128,128,128,0.12)' } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true, secondsVisible: false },
      localization: { priceFormatter: (p: number) => Math.round(p).toLocaleString('ko-KR') },
    });
    candles.current = created.addCandlestickSeries({
      upColor: UP,
      downColor: DOWN,
      borderUpColor: UP,
      borderDownColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
      priceFormat: { type: 'price', precision: 0, minMove: 1 },
    });
    candles.current.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
    volumes.current = created.addHistogramSeries({ priceScaleId: 'volume', priceFormat: { type: 'volume' } });
    volumes.current.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
    chart.current = created;
    return () => {
      created.remove();
      chart.current = null;
      candles.current = null;
      volumes.current = null;
    };
  }, []);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    api
      .chart(stockCode, range, 300)
      .then((result) => {
        if (!live) return;
        const seen = new Map<number, Bar>();
        for (const c of result.candles) {
          seen.set(chartTime(c.time), { time: chartTime(c.time), open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume });
        }
        bars.current = [...seen.values()].sort((a, b) => a.time - b.time);
        candles.current?.setData(bars.current.map((b) => ({ ...b, time: b.time as UTCTimestamp })));
        volumes.current?.setData(bars.current.map(volumeBar));
        chart.current?.timeScale().fitContent();
        setCount(bars.current.length);
      })
      .catch((caught) => live && setError(caught))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stockCode, rangeKey, round]);

  useTicks([stockCode], (tick) => {
    if (loading) return;
    const bar = applyTick(bars.current, tick, range);
    if (!bar) return;
    candles.current?.update({ ...bar, time: bar.time as UTCTimestamp });
    volumes.current?.update(volumeBar(bar));
    setCount(bars.current.length);
  });

  return (
    <div className="chart-card">
      <div className="segmented" data-testid="chart-ranges">
        {RANGES.map((r) => (
          <button
            key={r.key}
            type="button"
            className={r.key === rangeKey ? 'active' : ''}
            data-testid={`chart-range-${r.key}`}
            onClick={() => setRangeKey(r.key)}
          >
            {'interval' in r.range ? t('chart.min', { n: r.range.interval }) : t(`chart.${r.range.period}`)}
          </button>
        ))}
      </div>
      <div className="chart-wrap">
        <div ref={box} className="chart" data-testid="price-chart" data-candles={count} data-range={rangeKey} />
        {loading && <Loading testId="chart-loading" />}
      </div>
      <ErrorBox error={error} testId="chart-error" onRetry={() => setRound((n) => n + 1)} />
    </div>
  );
}
