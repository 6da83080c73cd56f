import { describe, expect, it } from 'vitest';
import type { Order } from '../api/endpoints';
import { mergeUpdate } from './OrdersPage';
import { revalue } from './PortfolioPage';

const ORDER = {
  orderId: 'ORD1', state: 'ACCEPTED', filledQuantity: 0, averageFillPrice: null, remainingQuantity: 10, quantity: 10, price: 71_300, version: 2, reason: null,
} as unknown as Order;

describe('ORDER_UPDATE merge', () => {
  it('takes the newer state and fills', () => {
    const merged = mergeUpdate(ORDER, { type: 'ORDER_UPDATE', orderId: 'ORD1', state: 'PARTIALLY_FILLED', filledQuantity: 4, averageFillPrice: 71_300, remainingQuantity: 6, version: 3 });
    expect(merged).toMatchObject({ state: 'PARTIALLY_FILLED', filledQuantity: 4, remainingQuantity: 6, averageFillPrice: 71_300, version: 3 });
  });
  it('ignores an older version', () => {
    expect(mergeUpdate(ORDER, { type: 'ORDER_UPDATE', orderId: 'ORD1', state: 'PENDING_NEW', version: 1 })).toBe(ORDER);
  });
});

describe('live P&L', () => {
  it('revalues a holding at the tick price, keeping the broker fees', () => {
    const holding = { stockCode: '005930', name: '삼성전자', quantity: 10, sellableQuantity: 10, averagePrice: 70_000, purchaseAmount: 700_000, price: 71_000, evaluation: 710_000, profit: 8_000, profitRate: 0.0114 };
    const live = revalue(holding, 72_000);
    expect(live.evaluation).toBe(720_000);
    expect(live.profit).toBe(18_000);
    expect(live.profitRate).toBeCloseTo(18_000 / 700_000);
  });
});
