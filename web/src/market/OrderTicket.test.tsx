import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { Order } from '../api/endpoints';
import { I18nProvider } from '../i18n';
import { OrderTicket } from './OrderTicket';

afterEach(cleanup);

const ORDER = { orderId: 'ORD0123456789abcdef01234', state: 'ACCEPTED', price: 71_300 } as Order;

function renderTicket(submit = vi.fn(async () => ORDER)) {
  render(
    <I18nProvider lang="en">
      <OrderTicket stockCode="005930" upperLimit={92_600} lowerLimit={50_000} defaultPrice={71_300} submit={submit} />
    </I18nProvider>,
  );
  return submit;
}

describe('OrderTicket', () => {
  it('submits a limit order with an Idempotency-Key', async () => {
    const submit = renderTicket();
    fireEvent.change(screen.getByTestId('ticket-quantity'), { target: { value: '3' } });
    fireEvent.click(screen.getByTestId('ticket-submit'));
    await screen.findByTestId('ticket-result');
    expect(submit).toHaveBeenCalledTimes(1);
    const [body, key] = submit.mock.calls[0] as unknown as [unknown, string];
    expect(body).toEqual({ stockCode: '005930', orderType: 'LIMIT', orderSide: 'BUY', quantity: 3, price: 71_300 });
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(screen.getByTestId('ticket-result').dataset.state).toBe('ACCEPTED');
  });

  it('shows client-side tick and limit errors next to the price and sends nothing', () => {
    const submit = renderTicket();
    fireEvent.change(screen.getByTestId('ticket-price'), { target: { value: '71350' } });
    fireEvent.click(screen.getByTestId('ticket-submit'));
    expect(screen.getByTestId('ticket-price-error').textContent).toContain('71,300');
    fireEvent.change(screen.getByTestId('ticket-price'), { target: { value: '93000' } });
    fireEvent.click(screen.getByTestId('ticket-submit'));
    expect(screen.getByTestId('ticket-price-error').textContent).toContain('upper limit');
    expect(submit).not.toHaveBeenCalled();
  });

  it('hides the price for market orders and shows the stop price for STOP_LIMIT', () => {
    renderTicket();
    fireEvent.change(screen.getByTestId('ticket-order-type'), { target: { value: 'MARKET' } });
    expect(screen.queryByTestId('ticket-price')).toBeNull();
    fireEvent.change(screen.getByTestId('ticket-order-type'), { target: { value: 'STOP_LIMIT' } });
    expect(screen.getByTestId('ticket-price')).toBeTruthy();
    expect(screen.getByTestId('ticket-stop-price')).toBeTruthy();
  });

  it('steps the price by ticks', () => {
    renderTicket();
    fireEvent.click(screen.getByTestId('ticket-price-up'));
    expect((screen.getByTestId('ticket-price') as HTMLInputElement).value).toBe('71400');
    fireEvent.click(screen.getByTestId('ticket-price-down'));
    fireEvent.click(screen.getByTestId('ticket-price-down'));
    expect((screen.getByTestId('ticket-price') as HTMLInputElement).value).toBe('71200');
  });

  it('puts a server error next to the field it names', async () => {
    const submit = vi.fn(async () => {
      throw new ApiError(422, 'invalid_tick', 'price 71,300 is not on the tick grid', { field: 'stopPrice' });
    });
    renderTicket(submit);
    fireEvent.change(screen.getByTestId('ticket-order-type'), { target: { value: 'STOP_LIMIT' } });
    fireEvent.change(screen.getByTestId('ticket-stop-price'), { target: { value: '70000' } });
    fireEvent.click(screen.getByTestId('ticket-submit'));
    await waitFor(() => expect(screen.getByTestId('ticket-stop-price-error').textContent).toContain('invalid_tick'));
    expect(screen.queryByTestId('ticket-error')).toBeNull();
  });

  it('keeps the Idempotency-Key when the same ticket is retried after a network failure', async () => {
    let first = true;
    const submit = vi.fn(async () => {
      if (first) {
        first = false;
        throw new TypeError('Failed to fetch');
      }
      return ORDER;
    });
    renderTicket(submit);
    fireEvent.click(screen.getByTestId('ticket-submit'));
    await screen.findByTestId('ticket-error');
    fireEvent.click(screen.getByTestId('ticket-submit'));
    await screen.findByTestId('ticket-result');
    const keys = submit.mock.calls.map((call) => (call as unknown as [unknown, string])[1]);
    expect(keys[0]).toBe(keys[1]);
  });
});
