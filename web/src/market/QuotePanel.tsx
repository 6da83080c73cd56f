import type { Stock } from '../api/endpoints';
import { krw, num, pctPoints, signClass } from '../format';
import { useI18n } from '../i18n';

export function QuotePanel({ stock }: { stock: Stock }) {
  const { t, lang } = useI18n();
  const cls = signClass(stock.change);
  return (
    <div className="quote" data-testid="quote-panel" data-stock-code={stock.stockCode}>
      <div className="quote-head">
        <h2 data-testid="quote-name">{stock.name}</h2>
        <span className="muted">
          {stock.stockCode} · {stock.market}
        </span>
      </div>
      <div className={`quote-price ${cls}`}>
        <span data-testid="quote-price" data-value={stock.price}>
          {krw(stock.price, lang)}
        </span>
        <span data-testid="quote-change" data-value={stock.change}>
          {stock.change > 0 ? '▲' : stock.change < 0 ? '▼' : ''} {num(Math.abs(stock.change))} ({pctPoints(stock.changeRate)})
        </span>
      </div>
      <dl className="facts compact">
        <dt>{t('market.open')}</dt>
        <dd>{num(stock.open)}</dd>
        <dt>{t('market.high')}</dt>
        <dd>{num(stock.high)}</dd>
        <dt>{t('market.low')}</dt>
        <dd>{num(stock.low)}</dd>
        <dt>{t('market.volume')}</dt>
        <dd data-testid="quote-volume">{num(stock.volume)}</dd>
        <dt>{t('market.upper')}</dt>
        <dd className="up" data-testid="quote-upper-limit">{num(stock.upperLimit)}</dd>
        <dt>{t('market.lower')}</dt>
        <dd className="down" data-testid="quote-lower-limit">{num(stock.lowerLimit)}</dd>
      </dl>
    </div>
  );
}
