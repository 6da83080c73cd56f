import { useCallback, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { portfolio as api, type Holding, type Portfolio } from '../api/endpoints';
import { Card, ErrorBox, Loading } from '../components/ui';
import { dateTime, krw, num, pct, signClass } from '../format';
import { useAsync } from '../hooks/useAsync';
import { useI18n } from '../i18n';
import { useTicks } from '../realtime/RealtimeProvider';
import type { Tick } from '../realtime/client';

/** Revalue a holding at a live price (gross of the fees kt00018's profit includes). */
export function revalue(holding: Holding, price: number): Holding {
  const evaluation = holding.quantity * price;
  const fees = holding.evaluation - holding.purchaseAmount - holding.profit; // what the broker deducted
  const profit = evaluation - holding.purchaseAmount - fees;
  return { ...holding, price, evaluation, profit, profitRate: holding.purchaseAmount ? profit / holding.purchaseAmount : 0 };
}

export function totals(portfolio: Portfolio, holdings: Holding[]) {
  const evaluation = holdings.reduce((sum, h) => sum + h.evaluation, 0);
  const purchase = holdings.reduce((sum, h) => sum + h.purchaseAmount, 0);
  const profit = holdings.reduce((sum, h) => sum + h.profit, 0);
  return {
    evaluation,
    profit,
    profitRate: purchase ? profit / purchase : 0,
    assets: portfolio.estimatedAssets - portfolio.totalEvaluation + evaluation,
  };
}

export function PortfolioPage() {
  const { t, lang } = useI18n();
  const loaded = useAsync(() => api.get(), []);
  const [live, setLive] = useState<Record<string, number>>({});

  const codes = useMemo(() => loaded.data?.holdings.map((h) => h.stockCode) ?? [], [loaded.data]);
  useTicks(codes, useCallback((tick: Tick) => setLive((prices) => (prices[tick.stockCode] === tick.price ? prices : { ...prices, [tick.stockCode]: tick.price })), []));

  if (loaded.loading && !loaded.data) return <Loading testId="portfolio-loading" />;
  if (!loaded.data) return <ErrorBox error={loaded.error} testId="portfolio-error" onRetry={loaded.reload} />;

  const portfolio = loaded.data;
  const holdings = portfolio.holdings.map((h) => (live[h.stockCode] ? revalue(h, live[h.stockCode]) : h));
  const sum = totals(portfolio, holdings);

  return (
    <div className="portfolio" data-testid="portfolio-page">
      <div className="stats">
        <Stat label={t('pf.assets')} value={krw(sum.assets, lang)} testId="pf-assets" />
        <Stat label={t('pf.cash')} value={krw(portfolio.cash, lang)} testId="pf-cash" />
        <Stat label={t('pf.buyingPower')} value={krw(portfolio.buyingPower, lang)} testId="pf-buying-power" />
        <Stat label={t('pf.evaluation')} value={krw(sum.evaluation, lang)} testId="pf-evaluation" />
        <Stat label={t('pf.profit')} value={krw(sum.profit, lang)} cls={signClass(sum.profit)} testId="pf-profit" raw={sum.profit} />
        <Stat label={t('pf.profitRate')} value={pct(sum.profitRate)} cls={signClass(sum.profit)} testId="pf-profit-rate" />
        <Stat label={t('pf.realized')} value={krw(portfolio.realizedProfitToday, lang)} cls={signClass(portfolio.realizedProfitToday)} testId="pf-realized" />
        <Stat label={t('pf.openOrders')} value={num(portfolio.openOrders)} testId="pf-open-orders" />
      </div>
      <Card
        title={`${t('pf.title')} · ${portfolio.kiwoomAccountId}`}
        actions={
          <span className="muted">
            {dateTime(portfolio.asOf, lang)}{' '}
            <button type="button" className="ghost" data-testid="portfolio-refresh" onClick={loaded.reload}>
              {t('common.refresh')}
            </button>
          </span>
        }
      >
        <ErrorBox error={loaded.error} testId="portfolio-error" onRetry={loaded.reload} />
        {holdings.length === 0 ? (
          <p className="muted" data-testid="portfolio-empty">{t('pf.empty')}</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="holdings-table">
              <thead>
                <tr>
                  <th>{t('orders.stock')}</th>
                  <th className="num">{t('pf.qty')}</th>
                  <th className="num">{t('pf.avgPrice')}</th>
                  <th className="num">{t('pf.price')}</th>
                  <th className="num">{t('pf.evaluation')}</th>
                  <th className="num">{t('pf.profit')}</th>
                  <th className="num">{t('pf.profitRate')}</th>
                </tr>
              </thead>
              <tbody>
                {holdings.map((h) => (
                  <tr key={h.stockCode} data-testid={`holding-row-${h.stockCode}`} data-live={String(Boolean(live[h.stockCode]))}>
                    <td>
                      <Link to={`/market/${h.stockCode}`}>{h.name}</Link> <span className="muted">{h.stockCode}</span>
                    </td>
                    <td className="num" data-testid="holding-quantity">{num(h.quantity)}</td>
                    <td className="num">{krw(h.averagePrice, lang)}</td>
                    <td className="num" data-testid="holding-price" data-value={h.price}>{krw(h.price, lang)}</td>
                    <td className="num" data-testid="holding-evaluation">{krw(h.evaluation, lang)}</td>
                    <td className={`num ${signClass(h.profit)}`} data-testid="holding-profit" data-value={h.profit}>{krw(h.profit, lang)}</td>
                    <td className={`num ${signClass(h.profit)}`} data-testid="holding-profit-rate">{pct(h.profitRate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}

function Stat({ label, value, cls = '', testId, raw }: { label: string; value: string; cls?: string; testId: string; raw?: number }) {
  return (
    <div className="stat" data-testid={testId} data-value={raw}>
      <div className="muted">{label}</div>
      <div className={`stat-value ${cls}`}>{value}</div>
    </div>
  );
}
