import { useCallback, useEffect, useRef, useState } from 'react';

/** Load with `load()` on mount and whenever `deps` change; `reload` re-runs it. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): {
  data: T | null;
  error: Error | null;
  loading: boolean;
  reload: () => void;
  setData: (update: T | null | ((previous: T | null) => T | null)) => void;
} {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let live = true;
    setLoading(true);
    loader
      .current()
      .then((value) => {
        if (!live) return;
        setData(value);
        setError(null);
      })
      .catch((caught: Error) => live && setError(caught))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data, error, loading, reload, setData };
}
