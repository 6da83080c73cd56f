import type { OrderBook } from '../api/endpoints';
import { num } from '../format';
import { useI18n } from '../i18n';

type Levels = Pick<OrderBook, 'asks' | 'bids'>;

export function OrderBookView({ book, basePrice, onPickPrice }: { book: Levels | null; basePrice: number; onPickPrice: (price: number) => void }) {
  const { t } = useI18n();
  if (!book) return null;
  const asks = [...book.asks].slice(0, 10).reverse(); // highest at top, best ask just above the bids
  const bids = book.bids.slice(0, 10);
  const max = Math.max(1, ...book.asks.map((l) => l.quantity), ...book.bids.map((l) => l.quantity));
  const cls = (price: number) => (price > basePrice ? 'up' : price < basePrice ? 'down' : '');
  return (
    <table className="book" data-testid="orderbook">
      <thead>
        <tr>
          <th>{t('market.ask')}</th>
          <th>{t('market.price')}</th>
          <th>{t('market.bid')}</th>
        </tr>
      </thead>
      <tbody>
        {asks.map((level, i) => (
          <tr key={`a${level.price}`} className="ask" data-testid={`orderbook-ask-${asks.length - 1 - i}`}>
            <td className="qty">
              <span className="bar" style={{ width: `${(level.quantity / max) * 100}%` }} />
              {num(level.quantity)}
            </td>
            <td className={`price ${cls(level.price)}`}>
              <button type="button" onClick={() => onPickPrice(level.price)} data-testid="orderbook-price">
                {num(level.price)}
              </button>
            </td>
            <td />
          </tr>
        ))}
        {bids.map((level, i) => (
          <tr key={`b${level.price}`} className="bid" data-testid={`orderbook-bid-${i}`}>
            <td />
            <td className={`price ${cls(level.price)}`}>
              <button type="button" onClick={() => onPickPrice(level.price)} data-testid="orderbook-price">
                {num(level.price)}
              </button>
            </td>
            <td className="qty">
              <span className="bar" style={{ width: `${(level.quantity / max) * 100}%` }} />
              {num(level.quantity)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
