/** The guide's hook: `const { account, updateCredentials, getToken } = useKiwoomAPI();`
 * `account` has the guide's fields (`hasAccount`, `kiwoomAccountId`, `assignedAt`,
 * `isActive`, `hasValidToken`, `tokenExpiresAt`, plus `hasCredentials`, `environment`). */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { kiwoom, type Credentials, type MyAccount, type MyToken } from '../api/endpoints';

export const NO_ACCOUNT: MyAccount = {
  hasAccount: false,
  hasCredentials: false,
  hasValidToken: false,
  isActive: false,
};

export interface KiwoomAPI {
  /** Until the first load: `hasAccount` false and `loading` true. */
  account: MyAccount;
  loading: boolean;
  error: ApiError | Error | null;
  /** Stores the app key / secret (the platform first issues a token with them); returns the new account state. */
  updateCredentials: (credentials: Credentials) => Promise<MyAccount>;
  /** The platform's Kiwoom token for this account's key (issued if needed). */
  getToken: () => Promise<MyToken>;
  reload: () => Promise<MyAccount>;
}

export function useKiwoomAPI(): KiwoomAPI {
  const [account, setAccount] = useState<MyAccount>(NO_ACCOUNT);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const mounted = useRef(true);

  const reload = useCallback(async () => {
    setLoading(true);
    try {
      const fresh = await kiwoom.myAccount();
      if (mounted.current) {
        setAccount(fresh);
        setError(null);
      }
      return fresh;
    } catch (caught) {
      if (mounted.current) setError(caught as Error);
      throw caught;
    } finally {
      if (mounted.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    mounted.current = true;
    reload().catch(() => undefined);
    return () => {
      mounted.current = false;
    };
  }, [reload]);

  const updateCredentials = useCallback(async (credentials: Credentials) => {
    const fresh = await kiwoom.updateCredentials(credentials);
    if (mounted.current) {
      setAccount(fresh);
      setError(null);
    }
    return fresh;
  }, []);

  const getToken = useCallback(async () => {
    const token = await kiwoom.myToken();
    if (token.hasToken && mounted.current) {
      setAccount((previous) => ({ ...previous, hasValidToken: true, tokenExpiresAt: token.expiresAt ?? previous.tokenExpiresAt }));
    }
    return token;
  }, []);

  return { account, loading, error, updateCredentials, getToken, reload };
}
