import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { realtimeUrl } from '../config';
import { refreshTokens } from '../api/client';
import { tokenStore } from '../api/tokens';
import { RealtimeClient, type ConnectionStatus, type OrderBookMessage, type OrderUpdate, type ServerMessage, type Tick } from './client';

const RealtimeContext = createContext<RealtimeClient | null>(null);

export function RealtimeProvider({ children, signedIn }: { children: ReactNode; signedIn: boolean }) {
  const [client] = useState(
    () =>
      new RealtimeClient({
        url: realtimeUrl(),
        getToken: () => tokenStore.get()?.accessToken ?? null,
        refreshToken: async () => (await refreshTokens())?.accessToken ?? null,
      }),
  );
  useEffect(() => {
    if (!signedIn) return undefined;
    client.start();
    return () => client.stop();
  }, [client, signedIn]);
  return <RealtimeContext.Provider value={client}>{children}</RealtimeContext.Provider>;
}

export function useRealtimeClient(): RealtimeClient | null {
  return useContext(RealtimeContext);
}

export function useRealtimeStatus(): { status: ConnectionStatus; detail: string | null } {
  const client = useRealtimeClient();
  const [state, setState] = useState({ status: client?.status ?? ('IDLE' as ConnectionStatus), detail: client?.detail ?? null });
  useEffect(() => {
    if (!client) return undefined;
    setState({ status: client.status, detail: client.detail });
    return client.onStatus((status, detail) => setState({ status, detail }));
  }, [client]);
  return state;
}

/** Subscribe to `codes` while mounted; `onMessage` sees every server message. */
function useStream(codes: string[], orderbook: boolean, onMessage: (message: ServerMessage) => void): void {
  const client = useRealtimeClient();
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const key = [...codes].sort().join(',');
  useEffect(() => {
    if (!client) return undefined;
    const off = client.onMessage((message) => handler.current(message));
    const unsubscribe = key ? client.subscribe(key.split(','), orderbook) : () => undefined;
    return () => {
      off();
      unsubscribe();
    };
  }, [client, key, orderbook]);
}

export function useTicks(codes: string[], onTick: (tick: Tick) => void): void {
  const wanted = new Set(codes);
  useStream(codes, false, (message) => {
    if (message.type === 'TICK' && wanted.has(message.stockCode)) onTick(message);
  });
}

export function useOrderBookStream(code: string | null, onBook: (book: OrderBookMessage) => void, onTick?: (tick: Tick) => void): void {
  useStream(code ? [code] : [], true, (message) => {
    if (message.type === 'ORDERBOOK' && message.stockCode === code) onBook(message);
    else if (message.type === 'TICK' && message.stockCode === code) onTick?.(message);
  });
}

export function useOrderUpdates(onUpdate: (update: OrderUpdate) => void): void {
  useStream([], false, (message) => {
    if (message.type === 'ORDER_UPDATE') onUpdate(message);
  });
}
