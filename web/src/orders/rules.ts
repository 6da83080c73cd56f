/** Client-side order-ticket checks mirroring the platform's (KRX tick grid,
 * daily price limits, which types take a price / stop price). The server checks
 * again; its errors are shown next to the field they name. */

export const ORDER_TYPES = [
  'LIMIT', 'MARKET', 'CONDITIONAL_LIMIT', 'BEST_LIMIT', 'FIRST_LIMIT',
  'LIMIT_IOC', 'MARKET_IOC', 'BEST_IOC', 'LIMIT_FOK', 'MARKET_FOK', 'BEST_FOK',
  'STOP_LIMIT', 'MID_PRICE', 'MID_PRICE_IOC', 'MID_PRICE_FOK',
] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const PRICED_TYPES: ReadonlySet<OrderType> = new Set<OrderType>([
  'LIMIT', 'CONDITIONAL_LIMIT', 'LIMIT_IOC', 'LIMIT_FOK', 'STOP_LIMIT',
]);

export function needsPrice(type: OrderType): boolean {
  return PRICED_TYPES.has(type);
}

export function needsStopPrice(type: OrderType): boolean {
  return type === 'STOP_LIMIT';
}

/** KRX tick size for a price. */
export function tickSize(price: number): number {
  if (price < 2_000) return 1;
  if (price < 5_000) return 5;
  if (price < 20_000) return 10;
  if (price < 50_000) return 50;
  if (price < 200_000) return 100;
  if (price < 500_000) return 500;
  return 1_000;
}

export function onTick(price: number): boolean {
  return price % tickSize(price) === 0;
}

/** The nearest valid prices below and above an off-grid price. (Bracket bounds
 * are multiples of the next bracket's tick, so `down + tick` is always valid.) */
export function nearestTicks(price: number): [number, number] {
  const tick = tickSize(price);
  const down = Math.floor(price / tick) * tick;
  return down === price ? [price, price] : [down, down + tick];
}

/** Price one tick up (+1) or down (-1) on the grid (never below 1). */
export function stepPrice(price: number, direction: 1 | -1): number {
  const tick = tickSize(price);
  const down = Math.floor(price / tick) * tick;
  if (direction > 0) return down + tick;
  if (down !== price) return Math.max(1, down);
  return Math.max(1, price - tickSize(Math.max(1, price - 1)));
}

export interface TicketInput {
  orderType: OrderType;
  orderSide: 'BUY' | 'SELL';
  quantity: string;
  price: string;
  stopPrice: string;
}

export interface Limits {
  upperLimit?: number | null;
  lowerLimit?: number | null;
}

export type TicketField = 'quantity' | 'price' | 'stopPrice' | 'orderType' | 'form';

/** A message key (see i18n) and parameters, per field. */
export type TicketErrors = Partial<Record<TicketField, { key: string; params?: Record<string, string | number> }>>;

export interface OrderBody {
  stockCode: string;
  orderType: OrderType;
  orderSide: 'BUY' | 'SELL';
  quantity: number;
  price?: number;
  stopPrice?: number;
}

function parseWhole(text: string): number | null {
  const cleaned = text.replace(/[,\s]/g, '');
  if (!/^\d+$/.test(cleaned)) return null;
  const value = Number(cleaned);
  return Number.isSafeInteger(value) ? value : null;
}

function checkPrice(field: 'price' | 'stopPrice', text: string, limits: Limits, errors: TicketErrors): number | undefined {
  if (!text.trim()) {
    errors[field] = { key: 'err.required' };
    return undefined;
  }
  const value = parseWhole(text);
  if (value === null || value <= 0) {
    errors[field] = { key: 'err.positiveInt' };
    return undefined;
  }
  if (!onTick(value)) {
    const [down, up] = nearestTicks(value);
    errors[field] = { key: 'err.tick', params: { tick: tickSize(value), down, up } };
    return value;
  }
  if (limits.upperLimit && value > limits.upperLimit) {
    errors[field] = { key: 'err.aboveUpper', params: { limit: limits.upperLimit } };
  } else if (limits.lowerLimit && value < limits.lowerLimit) {
    errors[field] = { key: 'err.belowLower', params: { limit: limits.lowerLimit } };
  }
  return value;
}

/** Checks a ticket; returns the errors (empty when valid) and the request body. */
export function validateTicket(
  stockCode: string,
  input: TicketInput,
  limits: Limits = {},
): { errors: TicketErrors; body: OrderBody | null } {
  const errors: TicketErrors = {};
  if (!(ORDER_TYPES as readonly string[]).includes(input.orderType)) {
    errors.orderType = { key: 'err.orderType' };
  }
  const quantity = parseWhole(input.quantity);
  if (!input.quantity.trim()) errors.quantity = { key: 'err.required' };
  else if (quantity === null || quantity <= 0) errors.quantity = { key: 'err.positiveInt' };

  let price: number | undefined;
  let stopPrice: number | undefined;
  if (needsPrice(input.orderType)) price = checkPrice('price', input.price, limits, errors);
  if (needsStopPrice(input.orderType)) stopPrice = checkPrice('stopPrice', input.stopPrice, limits, errors);
  if (!/^[0-9A-Z]{6}$/.test(stockCode)) errors.form = { key: 'err.noStock' };

  if (Object.keys(errors).length > 0 || quantity === null) return { errors, body: null };
  const body: OrderBody = { stockCode, orderType: input.orderType, orderSide: input.orderSide, quantity };
  if (price !== undefined) body.price = price;
  if (stopPrice !== undefined) body.stopPrice = stopPrice;
  return { errors, body };
}
