// Opt-in: drives the whole app (jsdom, charts mocked) against a running demo platform:
//   make run   (or: .venv/bin/quantum run --demo --port 8080)
//   cd web && VITE_LIVE_SMOKE=1 VITE_API_URL=http://127.0.0.1:8080 npx vitest run src/live.smoke.test.tsx
// Skipped otherwise. Signs in as the demo trader and admin (demo passwords).
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('lightweight-charts', () => {
  const series = () => ({ setData: vi.fn(), update: vi.fn(), priceScale: () => ({ applyOptions: vi.fn() }) });
  return {
    createChart: () => ({ addCandlestickSeries: series, addHistogramSeries: series, timeScale: () => ({ fitContent: vi.fn() }), remove: vi.fn() }),
  };
});

import { App } from './App';
import { AuthProvider } from './auth/AuthProvider';
import { I18nProvider } from './i18n';
import { tokenStore } from './api/tokens';

afterAll(() => { cleanup(); tokenStore.set(null); });

function mount(path: string) {
  return render(
    <I18nProvider lang="en">
      <AuthProvider>
        <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
          <App />
        </MemoryRouter>
      </AuthProvider>
    </I18nProvider>,
  );
}

describe.skipIf(!import.meta.env.VITE_LIVE_SMOKE)('live against a running platform', () => {
  it('signs in, trades, sees orders, portfolio', async () => {
    mount('/market/005930');
    fireEvent.change(await screen.findByTestId('signin-username'), { target: { value: 'demo' } });
    fireEvent.change(screen.getByTestId('signin-password'), { target: { value: 'demo-trader-1' } });
    fireEvent.click(screen.getByTestId('signin-submit'));
    await screen.findByTestId('nav-market', {}, { timeout: 5000 });
    const price = await screen.findByTestId('quote-price', {}, { timeout: 5000 });
    console.log('quote', price.textContent, screen.getByTestId('quote-name').textContent);
    await waitFor(() => expect(screen.getByTestId('realtime-status').dataset.status).toBe('LIVE'), { timeout: 5000 });
    await waitFor(() => expect(screen.getByTestId('price-chart').dataset.candles).not.toBe('0'), { timeout: 5000 });
    console.log('chart candles', screen.getByTestId('price-chart').dataset.candles);
    await waitFor(() => expect(screen.getByTestId('orderbook')).toBeTruthy(), { timeout: 5000 });
    fireEvent.change(screen.getByTestId('ticket-price'), { target: { value: '71650' } });
    fireEvent.click(screen.getByTestId('ticket-submit'));
    console.log('client error', screen.getByTestId('ticket-price-error').textContent);
    fireEvent.change(screen.getByTestId('ticket-price'), { target: { value: '71000' } });
    fireEvent.click(screen.getByTestId('ticket-submit'));
    const result = await screen.findByTestId('ticket-result', {}, { timeout: 5000 });
    console.log('result', result.textContent);
    fireEvent.click(screen.getByTestId('nav-orders'));
    const table = await screen.findByTestId('orders-table', {}, { timeout: 5000 });
    console.log('orders rows', table.querySelectorAll('tbody tr').length);
    const cancel = screen.getAllByTestId('order-cancel')[0];
    fireEvent.click(cancel);
    await waitFor(() => expect(table.querySelector('[data-state="CANCELLED"]')).toBeTruthy(), { timeout: 8000 });
    console.log('states', [...table.querySelectorAll('[data-testid="order-state"]')].map((e) => e.textContent).join(','));
    fireEvent.click(screen.getAllByTestId('order-history-link')[0]);
    const events = await screen.findByTestId('order-events', {}, { timeout: 5000 });
    console.log('events', events.textContent?.slice(0, 200));
    fireEvent.click(screen.getByTestId('nav-portfolio'));
    await screen.findByTestId('portfolio-page', {}, { timeout: 5000 });
    console.log('pf', screen.getByTestId('pf-cash').textContent);
    fireEvent.click(screen.getByTestId('nav-account'));
    const state = await screen.findByTestId('account-state', {}, { timeout: 5000 });
    console.log('account', state.dataset.state, state.textContent);
    fireEvent.click(screen.getByTestId('account-get-token'));
    console.log('token', (await screen.findByTestId('account-token', {}, { timeout: 5000 })).textContent);
    fireEvent.click(screen.getByTestId('sign-out'));
    await screen.findByTestId('signin-submit');
  }, 40000);

  it('admin pages', async () => {
    cleanup();
    mount("/admin");
    fireEvent.change(await screen.findByTestId('signin-username'), { target: { value: 'admin' } });
    fireEvent.change(screen.getByTestId('signin-password'), { target: { value: 'demo-admin-1' } });
    fireEvent.click(screen.getByTestId('signin-submit'));
    await screen.findByTestId('admin-users-table', {}, { timeout: 5000 });
    await screen.findByTestId('admin-users-table', {}, { timeout: 5000 });
    fireEvent.change(screen.getByTestId('admin-user-new-username'), { target: { value: `u${Date.now() % 100000}` } });
    fireEvent.change(screen.getByTestId('admin-user-new-password'), { target: { value: 'pw-123456' } });
    fireEvent.click(screen.getByTestId('admin-user-create-submit'));
    await waitFor(() => expect(screen.getByTestId('admin-users-table').querySelectorAll('tbody tr').length).toBeGreaterThan(2), { timeout: 5000 });
    fireEvent.click(screen.getByTestId('admin-tab-accounts'));
    await screen.findByTestId('admin-accounts-table', {}, { timeout: 5000 });
    fireEvent.change(screen.getByTestId('admin-account-new-name'), { target: { value: 'Second' } });
    fireEvent.click(screen.getByTestId('admin-account-create-submit'));
    await waitFor(() => expect(screen.getAllByTestId('admin-account-assign-user').length).toBeGreaterThan(0), { timeout: 5000 });
    const select = screen.getAllByTestId('admin-account-assign-user')[0] as HTMLSelectElement;
    await waitFor(() => expect(select.options.length).toBeGreaterThan(1), { timeout: 5000 });
    const last = select.options[select.options.length - 1].value;
    fireEvent.change(select, { target: { value: last } });
    fireEvent.click(screen.getAllByTestId('admin-account-assign')[0]);
    const history = await screen.findByTestId('admin-history-list', {}, { timeout: 5000 });
    console.log('history', history.textContent);
    fireEvent.click(screen.getByTestId('admin-tab-usage'));
    const calls = await screen.findByTestId('usage-chart-calls', {}, { timeout: 5000 });
    console.log('usage points', calls.dataset.points, screen.getByTestId('usage-chart-latency').dataset.points);
    fireEvent.click(screen.getByTestId('admin-tab-logs'));
    fireEvent.change(await screen.findByTestId('admin-logs-user-filter'), { target: { value: 'USER_DEMO' } });
    fireEvent.click(screen.getByTestId('admin-logs-apply'));
    const logs = await screen.findByTestId('admin-logs-table', {}, { timeout: 5000 });
    console.log('logs', logs.querySelectorAll('tbody tr').length, screen.getByTestId('admin-logs-page').textContent);
  }, 40000);
});
