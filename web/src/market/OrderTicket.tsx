import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, uuid } from '../api/client';
import { orders as api, type Order } from '../api/endpoints';
import { FieldError, errorText } from '../components/ui';
import { krw } from '../format';
import { useI18n } from '../i18n';
import {
  ORDER_TYPES,
  needsPrice,
  needsStopPrice,
  stepPrice,
  tickSize,
  validateTicket,
  type OrderType,
  type TicketErrors,
  type TicketField,
  type TicketInput,
} from '../orders/rules';

export interface TicketProps {
  stockCode: string;
  upperLimit?: number | null;
  lowerLimit?: number | null;
  /** A price to put in the price field (picked from the order book). */
  pickedPrice?: { price: number; at: number } | null;
  defaultPrice?: number;
  onSubmitted?: (order: Order) => void;
  /** Injected in tests. */
  submit?: typeof api.submit;
}

const SERVER_FIELDS: Record<string, TicketField> = { price: 'price', stopPrice: 'stopPrice', quantity: 'quantity', orderType: 'orderType' };

export function OrderTicket({ stockCode, upperLimit, lowerLimit, pickedPrice, defaultPrice, onSubmitted, submit = api.submit }: TicketProps) {
  const { t, lang } = useI18n();
  const [input, setInput] = useState<TicketInput>({
    orderType: 'LIMIT',
    orderSide: 'BUY',
    quantity: '1',
    price: defaultPrice ? String(defaultPrice) : '',
    stopPrice: '',
  });
  const [errors, setErrors] = useState<TicketErrors>({});
  const [serverErrors, setServerErrors] = useState<Partial<Record<TicketField, string>>>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Order | null>(null);
  /** One Idempotency-Key per ticket: kept while the same ticket is re-submitted after a failure. */
  const key = useRef<string | null>(null);

  useEffect(() => {
    if (pickedPrice) setInput((previous) => ({ ...previous, price: String(pickedPrice.price) }));
  }, [pickedPrice]);
  useEffect(() => {
    setInput((previous) => ({ ...previous, price: defaultPrice ? String(defaultPrice) : '', stopPrice: '' }));
    setErrors({});
    setServerErrors({});
    setResult(null);
    // a new stock: a new ticket
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stockCode]);

  const change = (patch: Partial<TicketInput>) => {
    setInput((previous) => ({ ...previous, ...patch }));
    key.current = null;
    setServerErrors({});
    setErrors({});
    setResult(null);
  };

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const checked = validateTicket(stockCode, input, { upperLimit, lowerLimit });
    setErrors(checked.errors);
    setServerErrors({});
    setResult(null);
    if (!checked.body) return;
    key.current ??= uuid();
    setBusy(true);
    try {
      const order = await submit(checked.body, key.current);
      setResult(order);
      key.current = null;
      onSubmitted?.(order);
    } catch (caught) {
      const field = caught instanceof ApiError ? caught.field : null;
      const mapped = (field && SERVER_FIELDS[field]) || 'form';
      setServerErrors({ [mapped]: errorText(caught) });
      if (caught instanceof ApiError && caught.status < 500) key.current = null; // refused: nothing recorded
    } finally {
      setBusy(false);
    }
  };

  const message = (field: TicketField) => {
    const error = errors[field];
    const client = error ? t(error.key, error.params) : null;
    return client ?? serverErrors[field] ?? null;
  };

  const priceValue = Number(input.price.replace(/,/g, ''));
  const step = (field: 'price' | 'stopPrice', direction: 1 | -1) => {
    const current = Number(input[field].replace(/,/g, '')) || defaultPrice || 0;
    change({ [field]: String(current > 0 ? stepPrice(current, direction) : tickSize(1)) });
  };

  return (
    <form className="ticket form" onSubmit={onSubmit} data-testid="order-ticket" noValidate>
      <div className="segmented sides" role="radiogroup">
        {(['BUY', 'SELL'] as const).map((side) => (
          <button
            key={side}
            type="button"
            role="radio"
            aria-checked={input.orderSide === side}
            className={`${input.orderSide === side ? 'active' : ''} ${side === 'BUY' ? 'buy' : 'sell'}`}
            data-testid={`ticket-side-${side.toLowerCase()}`}
            onClick={() => change({ orderSide: side })}
          >
            {side === 'BUY' ? t('ticket.buy') : t('ticket.sell')}
          </button>
        ))}
      </div>
      <label>
        {t('ticket.type')}
        <select data-testid="ticket-order-type" value={input.orderType} onChange={(e) => change({ orderType: e.target.value as OrderType })}>
          {ORDER_TYPES.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
      </label>
      <FieldError testId="ticket-order-type-error">{message('orderType')}</FieldError>
      <label>
        {t('ticket.quantity')}
        <input data-testid="ticket-quantity" inputMode="numeric" value={input.quantity} onChange={(e) => change({ quantity: e.target.value })} />
      </label>
      <FieldError testId="ticket-quantity-error">{message('quantity')}</FieldError>
      {needsPrice(input.orderType) && (
        <>
          <label>
            {t('ticket.price')}
            <span className="stepper">
              <button type="button" data-testid="ticket-price-down" onClick={() => step('price', -1)} aria-label="-1 tick">
                −
              </button>
              <input data-testid="ticket-price" inputMode="numeric" value={input.price} onChange={(e) => change({ price: e.target.value })} />
              <button type="button" data-testid="ticket-price-up" onClick={() => step('price', 1)} aria-label="+1 tick">
                +
              </button>
            </span>
          </label>
          <div className="hint muted">{priceValue > 0 ? t('ticket.tick', { tick: tickSize(priceValue) }) : ''}</div>
          <FieldError testId="ticket-price-error">{message('price')}</FieldError>
        </>
      )}
      {needsStopPrice(input.orderType) && (
        <>
          <label>
            {t('ticket.stopPrice')}
            <span className="stepper">
              <button type="button" data-testid="ticket-stop-price-down" onClick={() => step('stopPrice', -1)} aria-label="-1 tick">
                −
              </button>
              <input data-testid="ticket-stop-price" inputMode="numeric" value={input.stopPrice} onChange={(e) => change({ stopPrice: e.target.value })} />
              <button type="button" data-testid="ticket-stop-price-up" onClick={() => step('stopPrice', 1)} aria-label="+1 tick">
                +
              </button>
            </span>
          </label>
          <FieldError testId="ticket-stop-price-error">{message('stopPrice')}</FieldError>
        </>
      )}
      <FieldError testId="ticket-error">{message('form')}</FieldError>
      {result && (
        <p className="notice ok" data-testid="ticket-result" data-order-id={result.orderId} data-state={result.state}>
          {t('ticket.submitted', { id: result.orderId, state: result.state })}
          {result.price ? ` · ${krw(result.price, lang)}` : ''}
        </p>
      )}
      <button
        type="submit"
        className={`primary ${input.orderSide === 'BUY' ? 'buy' : 'sell'}`}
        data-testid="ticket-submit"
        disabled={busy}
      >
        {busy ? t('common.loading') : `${input.orderSide === 'BUY' ? t('ticket.buy') : t('ticket.sell')} · ${t('ticket.submit')}`}
      </button>
    </form>
  );
}
