/** The `/ws/realtime` client: AUTH first, then SUBSCRIBE; on a drop it reconnects
 * with exponential backoff (+ jitter), re-AUTHs with the current access token
 * (refreshing it once if refused) and re-SUBSCRIBEs everything still wanted. */

export type ConnectionStatus = 'IDLE' | 'CONNECTING' | 'LIVE' | 'STALLED' | 'RECONNECTING' | 'CLOSED';

export interface Tick {
  type: 'TICK';
  stockCode: string;
  price: number;
  change: number;
  changeRate: number;
  volume: number;
  cumulativeVolume: number;
  time: string;
  seq: number;
}

export interface OrderBookMessage {
  type: 'ORDERBOOK';
  stockCode: string;
  asks: { price: number; quantity: number }[];
  bids: { price: number; quantity: number }[];
  time: string;
}

export interface OrderUpdate {
  type: 'ORDER_UPDATE';
  orderId: string;
  state: string;
  filledQuantity?: number;
  averageFillPrice?: number | null;
  remainingQuantity?: number;
  [key: string]: unknown;
}

export type ServerMessage =
  | { type: 'AUTH_OK'; userId?: string }
  | { type: 'SUBSCRIBED' | 'UNSUBSCRIBED'; stockCodes: string[] }
  | Tick
  | OrderBookMessage
  | OrderUpdate
  | { type: 'STATUS'; status: string; detail?: string | null }
  | { type: 'PONG' }
  | { type: 'ERROR'; code: string; message: string };

export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface RealtimeOptions {
  url: string;
  /** The current access token (null: not signed in). */
  getToken: () => string | null;
  /** Called once when AUTH is refused; resolves to a fresh token or null. */
  refreshToken?: () => Promise<string | null>;
  createSocket?: (url: string) => WebSocketLike;
  baseDelayMs?: number;
  maxDelayMs?: number;
  pingEveryMs?: number;
  /** No frame for this long while LIVE: the connection is considered stalled. */
  staleAfterMs?: number;
  random?: () => number;
}

type Handler = (message: ServerMessage) => void;

const OPEN = 1;

export class RealtimeClient {
  status: ConnectionStatus = 'IDLE';
  detail: string | null = null;
  attempts = 0;

  private socket: WebSocketLike | null = null;
  private authed = false;
  private stopped = true;
  private authRetried = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  /** stockCode -> [subscribers, subscribers wanting the order book] */
  private wanted = new Map<string, [number, number]>();
  private handlers = new Set<Handler>();
  private statusListeners = new Set<(status: ConnectionStatus, detail: string | null) => void>();
  private readonly options: Required<Omit<RealtimeOptions, 'refreshToken'>> & Pick<RealtimeOptions, 'refreshToken'>;

  constructor(options: RealtimeOptions) {
    this.options = {
      createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      pingEveryMs: 20_000,
      staleAfterMs: 45_000,
      random: Math.random,
      ...options,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    this.authed = false;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000, 'bye');
    }
    this.setStatus('CLOSED', null);
  }

  onMessage(handler: Handler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  onStatus(listener: (status: ConnectionStatus, detail: string | null) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Ask for ticks (and order books) of `codes`; the returned function gives them up. */
  subscribe(codes: string[], orderbook = false): () => void {
    const fresh: string[] = [];
    const freshBooks: string[] = [];
    for (const code of codes) {
      const [count, books] = this.wanted.get(code) ?? [0, 0];
      if (count === 0) (orderbook ? freshBooks : fresh).push(code);
      else if (orderbook && books === 0) freshBooks.push(code);
      this.wanted.set(code, [count + 1, books + (orderbook ? 1 : 0)]);
    }
    if (this.authed) {
      if (fresh.length) this.send({ type: 'SUBSCRIBE', stockCodes: fresh, orderbook: false });
      if (freshBooks.length) this.send({ type: 'SUBSCRIBE', stockCodes: freshBooks, orderbook: true });
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const gone: string[] = [];
      for (const code of codes) {
        const [count, books] = this.wanted.get(code) ?? [0, 0];
        if (count <= 1) {
          this.wanted.delete(code);
          gone.push(code);
        } else {
          this.wanted.set(code, [count - 1, books - (orderbook ? 1 : 0)]);
        }
      }
      if (this.authed && gone.length) this.send({ type: 'UNSUBSCRIBE', stockCodes: gone });
    };
  }

  subscribedCodes(): string[] {
    return [...this.wanted.keys()];
  }

  private open(): void {
    if (this.stopped) return;
    const token = this.options.getToken();
    if (!token) {
      this.setStatus('IDLE', 'not signed in');
      return;
    }
    this.setStatus(this.attempts === 0 ? 'CONNECTING' : 'RECONNECTING', this.detail);
    let socket: WebSocketLike;
    try {
      socket = this.options.createSocket(this.options.url);
    } catch (error) {
      this.scheduleReconnect(String(error));
      return;
    }
    this.socket = socket;
    this.authed = false;
    socket.onopen = () => {
      this.lastFrameAt = Date.now();
      socket.send(JSON.stringify({ type: 'AUTH', token: this.options.getToken() ?? token }));
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => undefined; // onclose follows
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.authed = false;
      this.clearTimers();
      this.scheduleReconnect(event.reason || `closed (${event.code})`);
    };
  }

  private receive(data: unknown): void {
    this.lastFrameAt = Date.now();
    let message: ServerMessage;
    try {
      message = JSON.parse(String(data)) as ServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'AUTH_OK':
        this.authed = true;
        this.attempts = 0;
        this.authRetried = false;
        this.setStatus('LIVE', null);
        this.resubscribe();
        this.startHeartbeat();
        break;
      case 'STATUS': {
        const known: ConnectionStatus[] = ['LIVE', 'STALLED', 'RECONNECTING', 'CONNECTING', 'CLOSED'];
        const status = known.includes(message.status as ConnectionStatus) ? (message.status as ConnectionStatus) : 'STALLED';
        this.setStatus(status === 'CLOSED' ? 'RECONNECTING' : status, message.detail ?? null);
        break;
      }
      case 'ERROR':
        if (message.code === 'auth_failed' || message.code === 'auth_timeout') void this.reauth(message.message);
        break;
      default:
        if (this.status === 'STALLED' && (message.type === 'TICK' || message.type === 'ORDERBOOK')) this.setStatus('LIVE', null);
    }
    for (const handler of [...this.handlers]) handler(message);
  }

  private async reauth(reason: string): Promise<void> {
    // The server closes the socket (1008) after a refused AUTH; refresh the token
    // once so the reconnect uses a fresh one, else give up until sign-in.
    if (this.authRetried || !this.options.refreshToken) {
      this.stop();
      this.setStatus('CLOSED', reason);
      return;
    }
    this.authRetried = true;
    const fresh = await this.options.refreshToken();
    if (!fresh) {
      this.stop();
      this.setStatus('CLOSED', reason);
    }
  }

  private resubscribe(): void {
    const plain: string[] = [];
    const books: string[] = [];
    for (const [code, [, bookCount]] of this.wanted) (bookCount > 0 ? books : plain).push(code);
    for (let i = 0; i < plain.length; i += 100) this.send({ type: 'SUBSCRIBE', stockCodes: plain.slice(i, i + 100), orderbook: false });
    for (let i = 0; i < books.length; i += 100) this.send({ type: 'SUBSCRIBE', stockCodes: books.slice(i, i + 100), orderbook: true });
  }

  private startHeartbeat(): void {
    this.clearPing();
    this.pingTimer = setInterval(() => {
      if (!this.socket || this.socket.readyState !== OPEN) return;
      if (Date.now() - this.lastFrameAt > this.options.staleAfterMs) {
        // Silent for too long: drop it and reconnect.
        this.setStatus('STALLED', 'no data');
        this.socket.close(4000, 'stale');
        return;
      }
      this.send({ type: 'PING' });
    }, this.options.pingEveryMs);
  }

  /** Delay before the n-th reconnect (1-based): base·2^(n-1), capped, ±25% jitter. */
  backoff(attempt: number): number {
    const raw = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(raw * (0.75 + this.options.random() * 0.5));
  }

  private scheduleReconnect(detail: string): void {
    if (this.stopped) return;
    this.attempts += 1;
    this.setStatus('RECONNECTING', detail);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, this.backoff(this.attempts));
  }

  private send(message: unknown): void {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  private setStatus(status: ConnectionStatus, detail: string | null): void {
    if (this.status === status && this.detail === detail) return;
    this.status = status;
    this.detail = detail;
    for (const listener of [...this.statusListeners]) listener(status, detail);
  }

  private clearPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private clearTimers(): void {
    this.clearPing();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }
}
