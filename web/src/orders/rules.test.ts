import { describe, expect, it } from 'vitest';
import { ORDER_TYPES, PRICED_TYPES, nearestTicks, needsPrice, needsStopPrice, onTick, stepPrice, tickSize, validateTicket, type TicketInput } from './rules';

const ticket = (patch: Partial<TicketInput> = {}): TicketInput => ({
  orderType: 'LIMIT',
  orderSide: 'BUY',
  quantity: '10',
  price: '71300',
  stopPrice: '',
  ...patch,
});

describe('KRX tick table', () => {
  it.each([
    [1, 1], [1_999, 1], [2_000, 5], [4_995, 5], [5_000, 10], [19_990, 10], [20_000, 50],
    [49_950, 50], [50_000, 100], [199_900, 100], [200_000, 500], [499_500, 500], [500_000, 1_000], [1_234_000, 1_000],
  ])('tick of %i is %i', (price, tick) => {
    expect(tickSize(price)).toBe(tick);
  });

  it('checks the grid', () => {
    expect(onTick(71_300)).toBe(true);
    expect(onTick(71_350)).toBe(false);
    expect(onTick(2_003)).toBe(false);
    expect(nearestTicks(71_350)).toEqual([71_300, 71_400]);
    expect(nearestTicks(4_997)).toEqual([4_995, 5_000]);
    expect(nearestTicks(71_300)).toEqual([71_300, 71_300]);
  });

  it('steps across tick brackets', () => {
    expect(stepPrice(4_995, 1)).toBe(5_000);
    expect(stepPrice(5_000, 1)).toBe(5_010);
    expect(stepPrice(5_000, -1)).toBe(4_995);
    expect(stepPrice(50_000, -1)).toBe(49_950);
    expect(stepPrice(71_350, -1)).toBe(71_300);
    expect(stepPrice(71_350, 1)).toBe(71_400);
    expect(stepPrice(1, -1)).toBe(1);
  });
});

describe('order types', () => {
  it('has the 15 types; 5 take a price; STOP_LIMIT a stop price', () => {
    expect(ORDER_TYPES).toHaveLength(15);
    expect([...PRICED_TYPES].sort()).toEqual(['CONDITIONAL_LIMIT', 'LIMIT', 'LIMIT_FOK', 'LIMIT_IOC', 'STOP_LIMIT']);
    expect(needsPrice('MARKET')).toBe(false);
    expect(needsPrice('BEST_IOC')).toBe(false);
    expect(needsStopPrice('STOP_LIMIT')).toBe(true);
    expect(needsStopPrice('LIMIT')).toBe(false);
  });
});

describe('validateTicket', () => {
  const limits = { upperLimit: 92_600, lowerLimit: 50_000 };

  it('builds the body of a valid limit order', () => {
    const { errors, body } = validateTicket('005930', ticket({ price: '71,300' }), limits);
    expect(errors).toEqual({});
    expect(body).toEqual({ stockCode: '005930', orderType: 'LIMIT', orderSide: 'BUY', quantity: 10, price: 71_300 });
  });

  it('drops the price of price-less types', () => {
    const { body } = validateTicket('005930', ticket({ orderType: 'MARKET', price: '123' }), limits);
    expect(body).toEqual({ stockCode: '005930', orderType: 'MARKET', orderSide: 'BUY', quantity: 10 });
  });

  it('refuses prices off the tick grid with both neighbours', () => {
    const { errors, body } = validateTicket('005930', ticket({ price: '71350' }), limits);
    expect(body).toBeNull();
    expect(errors.price).toEqual({ key: 'err.tick', params: { tick: 100, down: 71_300, up: 71_400 } });
  });

  it('refuses prices outside the daily limits', () => {
    expect(validateTicket('005930', ticket({ price: '92700' }), limits).errors.price?.key).toBe('err.aboveUpper');
    expect(validateTicket('005930', ticket({ price: '49950' }), limits).errors.price?.key).toBe('err.belowLower');
    expect(validateTicket('005930', ticket({ price: '92600' }), limits).errors).toEqual({});
  });

  it('needs a whole positive quantity and a price when priced', () => {
    expect(validateTicket('005930', ticket({ quantity: '0' })).errors.quantity?.key).toBe('err.positiveInt');
    expect(validateTicket('005930', ticket({ quantity: '1.5' })).errors.quantity?.key).toBe('err.positiveInt');
    expect(validateTicket('005930', ticket({ quantity: '' })).errors.quantity?.key).toBe('err.required');
    expect(validateTicket('005930', ticket({ price: '' })).errors.price?.key).toBe('err.required');
  });

  it('checks the stop price of STOP_LIMIT', () => {
    const missing = validateTicket('005930', ticket({ orderType: 'STOP_LIMIT' }), limits);
    expect(missing.errors.stopPrice?.key).toBe('err.required');
    const off = validateTicket('005930', ticket({ orderType: 'STOP_LIMIT', stopPrice: '70010' }), limits);
    expect(off.errors.stopPrice?.key).toBe('err.tick');
    const ok = validateTicket('005930', ticket({ orderType: 'STOP_LIMIT', stopPrice: '70000' }), limits);
    expect(ok.body).toMatchObject({ price: 71_300, stopPrice: 70_000 });
  });

  it('needs a stock', () => {
    expect(validateTicket('', ticket()).errors.form?.key).toBe('err.noStock');
  });
});
