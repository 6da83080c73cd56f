import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { auth, type User } from '../api/endpoints';
import { tokenStore } from '../api/tokens';

interface AuthState {
  user: User | null;
  signedIn: boolean;
  loading: boolean;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [signedIn, setSignedIn] = useState(() => tokenStore.get() !== null);
  const [user, setUser] = useState<User | null>(null);
  const [loading, setLoading] = useState(signedIn);

  useEffect(() => tokenStore.subscribe((tokens) => setSignedIn(tokens !== null)), []);

  useEffect(() => {
    if (!signedIn) {
      setUser(null);
      setLoading(false);
      return;
    }
    let live = true;
    setLoading(true);
    auth
      .me()
      .then((me) => live && setUser(me))
      .catch(() => live && tokenStore.set(null))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [signedIn]);

  const signIn = useCallback(async (username: string, password: string) => {
    const tokens = await auth.login(username, password);
    tokenStore.set(tokens);
  }, []);

  const signOut = useCallback(async () => {
    const refresh = tokenStore.get()?.refreshToken;
    tokenStore.set(null);
    if (refresh) await auth.logout(refresh).catch(() => undefined);
  }, []);

  const value = useMemo(() => ({ user, signedIn, loading, signIn, signOut }), [user, signedIn, loading, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error('useAuth outside AuthProvider');
  return state;
}
