import { useCallback, useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { market as api, type OrderBook, type Stock } from '../api/endpoints';
import { Card, ErrorBox, Loading } from '../components/ui';
import { useI18n } from '../i18n';
import { OrderBookView } from '../market/OrderBookView';
import { OrderTicket } from '../market/OrderTicket';
import { PriceChart } from '../market/PriceChart';
import { QuotePanel } from '../market/QuotePanel';
import { StockSearch } from '../market/StockSearch';
import { useOrderBookStream } from '../realtime/RealtimeProvider';
import type { Tick } from '../realtime/client';

export function MarketPage() {
  const { stockCode } = useParams();
  const navigate = useNavigate();
  const { t } = useI18n();
  const code = stockCode ?? sessionStorage.getItem('qtp.lastStock') ?? null;
  const [stock, setStock] = useState<Stock | null>(null);
  const [book, setBook] = useState<Pick<OrderBook, 'asks' | 'bids'> | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [picked, setPicked] = useState<{ price: number; at: number } | null>(null);
  const [round, setRound] = useState(0);

  useEffect(() => {
    if (!code) return undefined;
    if (!stockCode) {
      navigate(`/market/${code}`, { replace: true });
      return undefined;
    }
    let live = true;
    setLoading(true);
    setError(null);
    setStock(null);
    setBook(null);
    sessionStorage.setItem('qtp.lastStock', code);
    Promise.all([api.stock(code), api.orderBook(code).catch(() => null)])
      .then(([quote, levels]) => {
        if (!live) return;
        setStock(quote);
        setBook(levels);
      })
      .catch((caught) => live && setError(caught))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [code, stockCode, navigate, round]);

  useOrderBookStream(
    stock ? stock.stockCode : null,
    useCallback((message) => setBook({ asks: message.asks, bids: message.bids }), []),
    useCallback(
      (tick: Tick) =>
        setStock((previous) =>
          previous && previous.stockCode === tick.stockCode
            ? {
                ...previous,
                price: tick.price,
                change: tick.change,
                changeRate: tick.changeRate,
                volume: tick.cumulativeVolume || previous.volume,
                high: Math.max(previous.high ?? tick.price, tick.price),
                low: Math.min(previous.low ?? tick.price, tick.price),
                time: tick.time,
              }
            : previous,
        ),
      [],
    ),
  );

  return (
    <div className="market" data-testid="market-page">
      <div className="market-search">
        <StockSearch onPick={(picked) => navigate(`/market/${picked}`)} />
      </div>
      {!code && <p className="muted" data-testid="market-empty">{t('market.pickStock')}</p>}
      {loading && <Loading testId="market-loading" />}
      <ErrorBox error={error} testId="market-error" onRetry={() => setRound((n) => n + 1)} />
      {stock && (
        <div className="market-grid">
          <Card testId="quote-card">
            <QuotePanel stock={stock} />
          </Card>
          <Card title={t('market.chart')} testId="chart-card">
            <PriceChart stockCode={stock.stockCode} />
          </Card>
          <Card title={t('market.orderbook')} testId="orderbook-card">
            <OrderBookView book={book} basePrice={stock.basePrice} onPickPrice={(price) => setPicked({ price, at: Date.now() })} />
          </Card>
          <Card title={t('ticket.title')} testId="ticket-card">
            <OrderTicket
              stockCode={stock.stockCode}
              upperLimit={stock.upperLimit}
              lowerLimit={stock.lowerLimit}
              defaultPrice={stock.price}
              pickedPrice={picked}
            />
          </Card>
        </div>
      )}
    </div>
  );
}
