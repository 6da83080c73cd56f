import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient, type WebSocketLike } from './client';

class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

let sockets: FakeSocket[];
let token: string;

function client(refresh?: () => Promise<string | null>) {
  return new RealtimeClient({
    url: 'ws://host/ws/realtime',
    getToken: () => token,
    refreshToken: refresh,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    random: () => 0.5,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  sockets = [];
  token = 'access-1';
});
afterEach(() => vi.useRealTimers());

describe('RealtimeClient', () => {
  it('AUTHs first, then subscribes; delivers ticks', () => {
    const rt = client();
    const statuses: string[] = [];
    rt.onStatus((s) => statuses.push(s));
    const ticks: unknown[] = [];
    rt.onMessage((m) => m.type === 'TICK' && ticks.push(m));
    rt.subscribe(['005930'], true);
    rt.start();
    const ws = sockets[0];
    ws.open();
    expect(ws.sent).toEqual([{ type: 'AUTH', token: 'access-1' }]);
    ws.receive({ type: 'AUTH_OK', userId: 'USER_001' });
    expect(ws.sent[1]).toEqual({ type: 'SUBSCRIBE', stockCodes: ['005930'], orderbook: true });
    ws.receive({ type: 'TICK', stockCode: '005930', price: 71_300, change: 100, changeRate: 0.14, volume: 5, cumulativeVolume: 10, time: '2026-11-25T09:00:00+09:00', seq: 1 });
    expect(ticks).toHaveLength(1);
    expect(statuses).toEqual(['CONNECTING', 'LIVE']);
    rt.stop();
  });

  it('reconnects with backoff, re-AUTHs with the current token and re-subscribes', () => {
    const rt = client();
    rt.start();
    sockets[0].open();
    sockets[0].receive({ type: 'AUTH_OK' });
    const off = rt.subscribe(['005930', '000660']);
    expect(sockets[0].sent[1]).toEqual({ type: 'SUBSCRIBE', stockCodes: ['005930', '000660'], orderbook: false });
    off();
    expect(sockets[0].sent[2]).toEqual({ type: 'UNSUBSCRIBE', stockCodes: ['005930', '000660'] });
    rt.subscribe(['035720']);

    token = 'access-2';
    sockets[0].close(1006, 'gone');
    expect(rt.status).toBe('RECONNECTING');
    expect(rt.backoff(1)).toBe(500);
    expect(rt.backoff(2)).toBe(1000);
    expect(rt.backoff(20)).toBe(30_000);
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1].close(1006); // fails again: the next wait doubles
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    const ws = sockets[2];
    ws.open();
    expect(ws.sent[0]).toEqual({ type: 'AUTH', token: 'access-2' });
    ws.receive({ type: 'AUTH_OK' });
    expect(ws.sent[1]).toEqual({ type: 'SUBSCRIBE', stockCodes: ['035720'], orderbook: false });
    expect(rt.status).toBe('LIVE');
    expect(rt.attempts).toBe(0);
    rt.stop();
  });

  it('shows the server STATUS (stalled upstream) and pings', () => {
    const rt = client();
    rt.start();
    sockets[0].open();
    sockets[0].receive({ type: 'AUTH_OK' });
    sockets[0].receive({ type: 'STATUS', status: 'STALLED', detail: 'no ticks for 10 s' });
    expect(rt.status).toBe('STALLED');
    expect(rt.detail).toBe('no ticks for 10 s');
    sockets[0].receive({ type: 'STATUS', status: 'LIVE', detail: null });
    expect(rt.status).toBe('LIVE');
    vi.advanceTimersByTime(20_000);
    expect(sockets[0].sent.at(-1)).toEqual({ type: 'PING' });
    rt.stop();
  });

  it('refreshes the token once after auth_failed, then gives up', async () => {
    const refresh = vi.fn(async () => {
      token = 'access-2';
      return 'access-2';
    });
    const rt = client(refresh);
    rt.start();
    sockets[0].open();
    sockets[0].receive({ type: 'ERROR', code: 'auth_failed', message: 'expired' });
    sockets[0].close(1008, 'auth failed');
    await vi.advanceTimersByTimeAsync(600);
    expect(refresh).toHaveBeenCalledTimes(1);
    sockets[1].open();
    expect(sockets[1].sent[0]).toEqual({ type: 'AUTH', token: 'access-2' });
    sockets[1].receive({ type: 'ERROR', code: 'auth_failed', message: 'still no' });
    await vi.advanceTimersByTimeAsync(0);
    expect(rt.status).toBe('CLOSED');
  });
});
