import { useEffect, useState } from 'react';
import { market as api, type Listing } from '../api/endpoints';
import { ErrorBox } from '../components/ui';
import { krw } from '../format';
import { useI18n } from '../i18n';

export function StockSearch({ onPick }: { onPick: (code: string) => void }) {
  const { t, lang } = useI18n();
  const [query, setQuery] = useState('');
  const [items, setItems] = useState<Listing[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const text = query.trim();
    if (!text) {
      setItems(null);
      return undefined;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => {
      setBusy(true);
      api
        .search(text, abort.signal)
        .then((result) => {
          setItems(result.items);
          setError(null);
        })
        .catch((caught: Error) => caught.name !== 'AbortError' && setError(caught))
        .finally(() => setBusy(false));
    }, 250);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [query]);

  const pick = (code: string) => {
    onPick(code);
    setQuery('');
    setItems(null);
  };

  return (
    <div className="search">
      <input
        type="search"
        data-testid="stock-search"
        placeholder={t('market.search')}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && items && items.length > 0) pick(items[0].stockCode);
          if (e.key === 'Enter' && /^[0-9A-Z]{6}$/.test(query.trim().toUpperCase()) && !items?.length) pick(query.trim().toUpperCase());
        }}
        aria-busy={busy}
      />
      {busy && <div className="search-busy" data-testid="stock-search-loading" />}
      <ErrorBox error={error} testId="stock-search-error" />
      {items && (
        <ul className="search-results" data-testid="stock-search-results">
          {items.length === 0 && <li className="muted">{t('market.noResults')}</li>}
          {items.map((item) => (
            <li key={item.stockCode}>
              <button type="button" data-testid={`stock-result-${item.stockCode}`} onClick={() => pick(item.stockCode)}>
                <span className="code">{item.stockCode}</span>
                <span className="name">{item.name}</span>
                <span className="muted">{item.market}</span>
                <span className="num">{krw(item.lastPrice, lang)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
