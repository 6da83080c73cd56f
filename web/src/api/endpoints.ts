import { call, type Schemas } from './typed';
import { uuid } from './client';

export type TokenResponse = Schemas['TokenResponse'];
export type User = Schemas['UserOut'];
export type MyAccount = Schemas['MyAccount'];
export type MyToken = Schemas['MyToken'];
export type Credentials = { clientId: string; clientSecret: string };
export type Stock = Schemas['StockOut'];
export type Listing = Schemas['ListingOut'];
export type SearchResult = Schemas['SearchOut'];
export type OrderBook = Schemas['OrderBookOut'];
export type Chart = Schemas['ChartOut'];
export type Candle = Schemas['CandleOut'];
export type Order = Schemas['OrderOut'];
export type OrderDetail = Schemas['OrderDetail'];
export type OrderEvent = Schemas['EventOut'];
export type OrderState = Schemas['OrderState'];
export type NewOrder = Schemas['OrderIn'];
export type Portfolio = Schemas['PortfolioOut'];
export type Holding = Schemas['HoldingOut'];
export type Account = Schemas['AccountOut'];
export type Audit = Schemas['AuditOut'];
export type UsageSummary = Schemas['UsageSummary'];
export type UsageRow = Schemas['UsageRow'];
export type UsageLogEntry = Schemas['UsageLogEntry'];
export type Environment = Schemas['AccountEnvironment'];
export type Role = Schemas['Role'];
export type ChartPeriod = 'D' | 'W' | 'M' | 'Y';
export type ChartInterval = '1' | '5' | '10' | '30' | '60';

export const auth = {
  login: (username: string, password: string) =>
    call('post', '/api/v1/auth/login', { body: { username, password } }),
  refresh: (refreshToken: string) => call('post', '/api/v1/auth/refresh', { body: { refreshToken } }),
  logout: (refreshToken: string) => call('post', '/api/v1/auth/logout', { body: { refreshToken } }),
  me: () => call('get', '/api/v1/users/me'),
};

export const kiwoom = {
  myAccount: () => call('get', '/api/v1/kiwoom-accounts/me'),
  updateCredentials: (credentials: Credentials) =>
    call('put', '/api/v1/kiwoom-accounts/me/credentials', { body: credentials }),
  myToken: () => call('get', '/api/v1/kiwoom-accounts/me/token'),
};

export const market = {
  search: (query: string, signal?: AbortSignal) => call('get', '/api/v1/stocks', { query: { query, limit: 20 }, signal }),
  stock: (stockCode: string) => call('get', '/api/v1/stocks/{stockCode}', { path: { stockCode } }),
  orderBook: (stockCode: string) => call('get', '/api/v1/stocks/{stockCode}/orderbook', { path: { stockCode } }),
  chart: (stockCode: string, range: { period: ChartPeriod } | { interval: ChartInterval }, limit = 200) =>
    call('get', '/api/v1/charts/{stockCode}', { path: { stockCode }, query: { ...range, limit } }),
};

export const orders = {
  /** One Idempotency-Key per ticket submission: a retried request returns the same order. */
  submit: (order: NewOrder, idempotencyKey: string = uuid()) =>
    call('post', '/api/v1/orders', { body: order, headers: { 'Idempotency-Key': idempotencyKey } }),
  list: (query: { page?: number; size?: number; stockCode?: string } = {}) => call('get', '/api/v1/orders', { query }),
  get: (orderId: string) => call('get', '/api/v1/orders/{orderId}', { path: { orderId } }),
  cancel: (orderId: string) => call('delete', '/api/v1/orders/{orderId}', { path: { orderId } }),
  modify: (orderId: string, change: { price: number } | { quantity: number }) =>
    call('patch', '/api/v1/orders/{orderId}', { path: { orderId }, body: change }),
};

export const portfolio = {
  get: () => call('get', '/api/v1/portfolio'),
};

export const admin = {
  users: (page = 0, size = 100) => call('get', '/api/v1/admin/users', { query: { page, size } }),
  createUser: (body: { username: string; password: string; role: Role; userId?: string | null }) =>
    call('post', '/api/v1/admin/users', { body }),
  updateUser: (userId: string, body: { isActive?: boolean | null; role?: Role | null }) =>
    call('patch', '/api/v1/admin/users/{userId}', { path: { userId }, body }),
  accounts: () => call('get', '/api/v1/admin/kiwoom-accounts'),
  createAccount: (body: { environment: Environment; kiwoomAccountId?: string | null; displayName?: string | null }) =>
    call('post', '/api/v1/admin/kiwoom-accounts', { body }),
  assign: (kiwoomAccountId: string, userId: string) =>
    call('put', '/api/v1/admin/kiwoom-accounts/{kiwoomAccountId}/assignment', { path: { kiwoomAccountId }, body: { userId } }),
  unassign: (kiwoomAccountId: string) =>
    call('delete', '/api/v1/admin/kiwoom-accounts/{kiwoomAccountId}/assignment', { path: { kiwoomAccountId } }),
  history: (kiwoomAccountId: string) =>
    call('get', '/api/v1/admin/kiwoom-accounts/{kiwoomAccountId}/assignment-history', { path: { kiwoomAccountId } }),
  usage: (query: { from?: string; to?: string; userId?: string }) => call('get', '/api/v1/admin/kiwoom/usage', { query }),
  logs: (query: { userId?: string; page?: number; size?: number; success?: boolean }) =>
    call('get', '/api/v1/admin/kiwoom/logs', { query }),
};
