import { useCallback, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { ApiError } from '../api/client';
import { orders as api, type Order, type OrderState } from '../api/endpoints';
import { Card, ErrorBox, FieldError, Loading, errorText } from '../components/ui';
import { dateTime, krw, num } from '../format';
import { useAsync } from '../hooks/useAsync';
import { useI18n } from '../i18n';
import { useOrderUpdates } from '../realtime/RealtimeProvider';
import type { OrderUpdate } from '../realtime/client';

export const WORKING: ReadonlySet<string> = new Set(['ACCEPTED', 'PARTIALLY_FILLED']);

/** Merge a realtime ORDER_UPDATE into the listed order (newer versions only). */
export function mergeUpdate(order: Order, update: OrderUpdate): Order {
  const version = typeof update.version === 'number' ? update.version : null;
  if (version !== null && version < order.version) return order;
  return {
    ...order,
    state: (update.state as OrderState) ?? order.state,
    filledQuantity: update.filledQuantity ?? order.filledQuantity,
    averageFillPrice: update.averageFillPrice !== undefined ? update.averageFillPrice : order.averageFillPrice,
    remainingQuantity: update.remainingQuantity ?? order.remainingQuantity,
    quantity: typeof update.quantity === 'number' ? update.quantity : order.quantity,
    price: typeof update.price === 'number' ? update.price : order.price,
    reason: typeof update.reason === 'string' ? update.reason : order.reason,
    version: version ?? order.version,
  };
}

export function OrdersPage() {
  const { t, lang } = useI18n();
  const { orderId } = useParams();
  const list = useAsync(() => api.list({ size: 100 }), []);
  const [modifying, setModifying] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [detailRound, setDetailRound] = useState(0);

  useOrderUpdates(
    useCallback(
      (update: OrderUpdate) => {
        let known = false;
        list.setData((page) => {
          if (!page) return page;
          const items = page.items.map((o) => {
            if (o.orderId !== update.orderId) return o;
            known = true;
            return mergeUpdate(o, update);
          });
          return { ...page, items };
        });
        if (!known) list.reload();
        if (update.orderId === orderId) setDetailRound((n) => n + 1);
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [orderId],
    ),
  );

  const replace = (order: Order) =>
    list.setData((page) => (page ? { ...page, items: page.items.map((o) => (o.orderId === order.orderId ? order : o)) } : page));

  const cancel = async (order: Order) => {
    setRowErrors((e) => ({ ...e, [order.orderId]: '' }));
    try {
      replace(await api.cancel(order.orderId));
    } catch (caught) {
      setRowErrors((e) => ({ ...e, [order.orderId]: errorText(caught) }));
    }
  };

  const items = list.data?.items ?? [];
  return (
    <div className="orders-layout">
      <Card
        title={t('orders.title')}
        testId="orders-page"
        actions={
          <button type="button" className="ghost" data-testid="orders-refresh" onClick={list.reload}>
            {t('common.refresh')}
          </button>
        }
      >
        {list.loading && !list.data && <Loading testId="orders-loading" />}
        <ErrorBox error={list.error} testId="orders-error" onRetry={list.reload} />
        {list.data && items.length === 0 && <p className="muted" data-testid="orders-empty">{t('orders.empty')}</p>}
        {items.length > 0 && (
          <div className="table-scroll">
            <table className="table" data-testid="orders-table">
              <thead>
                <tr>
                  <th>{t('orders.created')}</th>
                  <th>{t('orders.stock')}</th>
                  <th>{t('orders.side')}</th>
                  <th>{t('orders.type')}</th>
                  <th className="num">{t('orders.qty')}</th>
                  <th className="num">{t('orders.price')}</th>
                  <th>{t('orders.state')}</th>
                  <th className="num">{t('orders.filled')}</th>
                  <th className="num">{t('orders.avg')}</th>
                  <th className="num">{t('orders.remaining')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {items.map((order) => (
                  <OrderRow
                    key={order.orderId}
                    order={order}
                    selected={order.orderId === orderId}
                    modifying={modifying === order.orderId}
                    error={rowErrors[order.orderId]}
                    onCancel={() => void cancel(order)}
                    onModify={() => setModifying(modifying === order.orderId ? null : order.orderId)}
                    onModified={(fresh) => {
                      replace(fresh);
                      setModifying(null);
                    }}
                    lang={lang}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {orderId && <OrderHistory orderId={orderId} round={detailRound} />}
    </div>
  );
}

function OrderRow(props: {
  order: Order;
  selected: boolean;
  modifying: boolean;
  error?: string;
  onCancel: () => void;
  onModify: () => void;
  onModified: (order: Order) => void;
  lang: 'ko' | 'en';
}) {
  const { order, lang } = props;
  const { t } = useI18n();
  const working = WORKING.has(order.state);
  return (
    <>
      <tr
        className={props.selected ? 'selected' : ''}
        data-testid={`order-row-${order.orderId}`}
        data-order-id={order.orderId}
        data-state={order.state}
      >
        <td>{dateTime(order.createdAt, lang)}</td>
        <td>{order.stockCode}</td>
        <td className={order.orderSide === 'BUY' ? 'up' : 'down'}>{order.orderSide === 'BUY' ? t('ticket.buy') : t('ticket.sell')}</td>
        <td>{order.orderType}</td>
        <td className="num">{num(order.quantity)}</td>
        <td className="num" data-testid="order-price">{order.price ? krw(order.price, lang) : '—'}</td>
        <td>
          <span className={`state state-${order.state.toLowerCase()}`} data-testid="order-state" title={order.reason ?? ''}>
            {order.state}
          </span>
        </td>
        <td className="num" data-testid="order-filled">{num(order.filledQuantity)}</td>
        <td className="num">{order.averageFillPrice ? krw(order.averageFillPrice, lang) : '—'}</td>
        <td className="num" data-testid="order-remaining">{num(order.remainingQuantity)}</td>
        <td className="actions">
          <Link to={`/orders/${order.orderId}`} data-testid="order-history-link">
            {t('orders.details')}
          </Link>
          {working && (
            <>
              <button type="button" data-testid="order-modify" onClick={props.onModify}>
                {t('orders.modify')}
              </button>
              <button type="button" className="danger" data-testid="order-cancel" onClick={props.onCancel}>
                {t('orders.cancel')}
              </button>
            </>
          )}
        </td>
      </tr>
      {props.error && (
        <tr>
          <td colSpan={11}>
            <FieldError testId={`order-error-${order.orderId}`}>{props.error}</FieldError>
          </td>
        </tr>
      )}
      {props.modifying && (
        <tr>
          <td colSpan={11}>
            <ModifyForm order={order} onDone={props.onModified} />
          </td>
        </tr>
      )}
    </>
  );
}

function ModifyForm({ order, onDone }: { order: Order; onDone: (order: Order) => void }) {
  const { t } = useI18n();
  const [price, setPrice] = useState(order.price ? String(order.price) : '');
  const [quantity, setQuantity] = useState('');
  const [error, setError] = useState<{ field: string; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const change = quantity.trim() ? { quantity: Number(quantity) } : { price: Number(price.replace(/,/g, '')) };
    setBusy(true);
    setError(null);
    try {
      onDone(await api.modify(order.orderId, change));
    } catch (caught) {
      setError({ field: caught instanceof ApiError && caught.field ? caught.field : 'form', text: errorText(caught) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="inline-form" onSubmit={submit} data-testid="order-modify-form">
      {order.price !== null && (
        <label>
          {t('orders.newPrice')}
          <input data-testid="order-modify-price" inputMode="numeric" value={price} onChange={(e) => setPrice(e.target.value)} disabled={!!quantity.trim()} />
        </label>
      )}
      <label>
        {t('orders.newQty')}
        <input data-testid="order-modify-quantity" inputMode="numeric" value={quantity} onChange={(e) => setQuantity(e.target.value)} placeholder={String(order.remainingQuantity)} />
      </label>
      <button type="submit" className="primary" data-testid="order-modify-submit" disabled={busy}>
        {t('orders.apply')}
      </button>
      <FieldError testId={`order-modify-${error?.field === 'quantity' ? 'quantity' : error?.field === 'price' ? 'price' : 'form'}-error`}>{error?.text}</FieldError>
    </form>
  );
}

function OrderHistory({ orderId, round }: { orderId: string; round: number }) {
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const detail = useAsync(() => api.get(orderId), [orderId, round]);
  return (
    <Card
      title={`${t('orders.events')} · ${orderId}`}
      testId="order-history"
      actions={
        <button type="button" className="ghost" data-testid="order-history-close" onClick={() => navigate('/orders')}>
          {t('common.close')}
        </button>
      }
    >
      {detail.loading && !detail.data && <Loading testId="order-history-loading" />}
      <ErrorBox error={detail.error} testId="order-history-error" onRetry={detail.reload} />
      {detail.data && (
        <>
          <p data-testid="order-history-state" data-state={detail.data.state}>
            {detail.data.stockCode} · {detail.data.orderType} · <b>{detail.data.state}</b>
            {detail.data.reason ? ` · ${t('orders.reason')}: ${detail.data.reason}` : ''}
          </p>
          <ol className="events" data-testid="order-events">
            {detail.data.events.map((event) => (
              <li key={event.seq} data-testid={`order-event-${event.seq}`} data-type={event.type}>
                <span className="muted">#{event.seq} {dateTime(event.occurredAt, lang)}</span> <b>{event.type}</b>
                <code>{JSON.stringify(event.data)}</code>
              </li>
            ))}
          </ol>
        </>
      )}
    </Card>
  );
}
