/** Access and refresh tokens: in memory, mirrored to sessionStorage (this tab only). */

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  tokenType?: string;
  expiresIn?: number;
}

const KEY = 'qtp.tokens';
type Listener = (tokens: Tokens | null) => void;

let current: Tokens | null = load();
const listeners = new Set<Listener>();

function load(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Tokens>;
    return parsed.accessToken && parsed.refreshToken ? (parsed as Tokens) : null;
  } catch {
    return null;
  }
}

export const tokenStore = {
  get(): Tokens | null {
    return current;
  },
  set(tokens: Tokens | null): void {
    current = tokens;
    try {
      if (tokens) sessionStorage.setItem(KEY, JSON.stringify(tokens));
      else sessionStorage.removeItem(KEY);
    } catch {
      /* storage unavailable: memory only */
    }
    for (const listener of [...listeners]) listener(tokens);
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** Re-read sessionStorage (tests). */
  reload(): void {
    current = load();
  },
};
