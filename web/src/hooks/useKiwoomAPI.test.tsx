import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenStore } from '../api/tokens';
import { mockFetch } from '../test/fetchMock';
import { useKiwoomAPI } from './useKiwoomAPI';

const ACCOUNT = {
  hasAccount: true,
  kiwoomAccountId: 'SIM0001',
  assignedAt: '2026-11-01T00:00:00Z',
  isActive: true,
  hasValidToken: false,
  tokenExpiresAt: null,
  hasCredentials: false,
  environment: 'SIMULATOR',
  message: null,
};

beforeEach(() => {
  sessionStorage.clear();
  tokenStore.set({ accessToken: 'access-1', refreshToken: 'refresh-1' });
});
afterEach(() => tokenStore.set(null));

describe('useKiwoomAPI (the guide shape)', () => {
  it('loads the account with the bearer token', async () => {
    const calls = mockFetch({ 'GET /api/v1/kiwoom-accounts/me': { body: ACCOUNT } });
    const { result } = renderHook(() => useKiwoomAPI());
    expect(result.current.account.hasAccount).toBe(false);
    expect(result.current.loading).toBe(true);
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.account.hasAccount).toBe(true);
    expect(result.current.account.kiwoomAccountId).toBe('SIM0001');
    expect(calls[0].headers.Authorization).toBe('Bearer access-1');
  });

  it('reports no account', async () => {
    mockFetch({ 'GET /api/v1/kiwoom-accounts/me': { body: { hasAccount: false, hasCredentials: false, hasValidToken: false, isActive: false, message: 'No account assigned' } } });
    const { result } = renderHook(() => useKiwoomAPI());
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.account.hasAccount).toBe(false);
    expect(result.current.account.message).toBe('No account assigned');
  });

  it('updateCredentials PUTs the pair and takes the new state', async () => {
    const calls = mockFetch({
      'GET /api/v1/kiwoom-accounts/me': { body: ACCOUNT },
      'PUT /api/v1/kiwoom-accounts/me/credentials': { body: { ...ACCOUNT, hasCredentials: true, hasValidToken: true, tokenExpiresAt: '2026-11-26T00:00:00Z' } },
    });
    const { result } = renderHook(() => useKiwoomAPI());
    await waitFor(() => expect(result.current.loading).toBe(false));
    await act(async () => {
      await result.current.updateCredentials({ clientId: 'your-app-key', clientSecret: 'your-app-secret' });
    });
    const put = calls.find((c) => c.method === 'PUT')!;
    expect(put.body).toEqual({ clientId: 'your-app-key', clientSecret: 'your-app-secret' });
    expect(result.current.account.hasCredentials).toBe(true);
    expect(result.current.account.hasValidToken).toBe(true);
  });

  it('getToken returns the token and marks it valid', async () => {
    mockFetch({
      'GET /api/v1/kiwoom-accounts/me': { body: { ...ACCOUNT, hasCredentials: true } },
      'GET /api/v1/kiwoom-accounts/me/token': {
        body: { hasToken: true, accessToken: 'kiwoom-token', tokenType: 'Bearer', expiresAt: '2026-11-26T00:00:00Z', message: 'ok' },
      },
    });
    const { result } = renderHook(() => useKiwoomAPI());
    await waitFor(() => expect(result.current.loading).toBe(false));
    let token: Awaited<ReturnType<typeof result.current.getToken>> | undefined;
    await act(async () => {
      token = await result.current.getToken();
    });
    expect(token?.accessToken).toBe('kiwoom-token');
    expect(result.current.account.hasValidToken).toBe(true);
    expect(result.current.account.tokenExpiresAt).toBe('2026-11-26T00:00:00Z');
  });

  it('refreshes the access token once on 401 and retries', async () => {
    let seen = 0;
    const calls = mockFetch({
      'GET /api/v1/kiwoom-accounts/me': (call) => {
        seen += 1;
        return call.headers.Authorization === 'Bearer access-2'
          ? { body: ACCOUNT }
          : { status: 401, body: { error: { code: 'token_expired', message: 'expired', details: null } } };
      },
      'POST /api/v1/auth/refresh': { body: { accessToken: 'access-2', refreshToken: 'refresh-2', tokenType: 'Bearer', expiresIn: 900 } },
    });
    const { result } = renderHook(() => useKiwoomAPI());
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(seen).toBe(2);
    expect(result.current.account.hasAccount).toBe(true);
    expect(calls.find((c) => c.url.endsWith('/auth/refresh'))?.body).toEqual({ refreshToken: 'refresh-1' });
    expect(tokenStore.get()?.refreshToken).toBe('refresh-2');
    expect(JSON.parse(sessionStorage.getItem('qtp.tokens')!).accessToken).toBe('access-2');
  });

  it('signs out when the refresh is refused', async () => {
    mockFetch({
      'GET /api/v1/kiwoom-accounts/me': { status: 401, body: { error: { code: 'unauthorized', message: 'no', details: null } } },
      'POST /api/v1/auth/refresh': { status: 401, body: { error: { code: 'invalid_refresh_token', message: 'spent', details: null } } },
    });
    const { result } = renderHook(() => useKiwoomAPI());
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.error).toMatchObject({ status: 401 });
    expect(tokenStore.get()).toBeNull();
  });
});
