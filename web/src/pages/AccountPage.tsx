import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import type { MyToken } from '../api/endpoints';
import { Card, ErrorBox, FieldError, Loading, errorText } from '../components/ui';
import { dateTime } from '../format';
import { useKiwoomAPI } from '../hooks/useKiwoomAPI';
import { useI18n } from '../i18n';

export function AccountPage() {
  const { account, loading, error, updateCredentials, getToken, reload } = useKiwoomAPI();
  const { t, lang } = useI18n();
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [token, setToken] = useState<MyToken | null>(null);
  const [tokenBusy, setTokenBusy] = useState(false);
  const [tokenError, setTokenError] = useState<unknown>(null);

  if (loading && !account.hasAccount && !error) return <Loading testId="account-loading" />;
  if (error) return <ErrorBox error={error} testId="account-error" onRetry={() => void reload().catch(() => undefined)} />;

  if (!account.hasAccount) {
    return (
      <Card title={t('account.title')} testId="account-page">
        <p className="notice" data-testid="account-state" data-state="NO_ACCOUNT">
          {t('account.none')}
        </p>
        <p className="muted">{account.message ?? t('account.noneHint')}</p>
      </Card>
    );
  }

  const state = !account.hasCredentials ? 'CREDENTIALS_MISSING' : account.hasValidToken ? 'TOKEN_VALID' : 'TOKEN_INVALID';

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setSaveError(null);
    setSaved(false);
    try {
      await updateCredentials({ clientId: clientId.trim(), clientSecret: clientSecret.trim() });
      setClientSecret('');
      setSaved(true);
    } catch (caught) {
      setSaveError(caught);
    } finally {
      setSaving(false);
    }
  };

  const fetchToken = async () => {
    setTokenBusy(true);
    setTokenError(null);
    try {
      setToken(await getToken());
    } catch (caught) {
      setTokenError(caught);
    } finally {
      setTokenBusy(false);
    }
  };

  const fieldError = (name: string) =>
    saveError instanceof ApiError && saveError.field === name ? errorText(saveError) : null;

  return (
    <div className="grid two">
      <Card title={t('account.title')} testId="account-page">
        <dl className="facts">
          <dt>{t('account.id')}</dt>
          <dd data-testid="account-id">{account.kiwoomAccountId}</dd>
          <dt>{t('account.environment')}</dt>
          <dd data-testid="account-environment">{account.environment ?? '—'}</dd>
          <dt>{t('account.assignedAt')}</dt>
          <dd>{dateTime(account.assignedAt, lang)}</dd>
          <dt>{t('account.active')}</dt>
          <dd data-testid="account-active">{account.isActive ? t('common.yes') : t('common.no')}</dd>
        </dl>
        <p className={`notice ${state === 'TOKEN_VALID' ? 'ok' : 'warn'}`} data-testid="account-state" data-state={state}>
          {state === 'CREDENTIALS_MISSING'
            ? t('account.credsMissing')
            : state === 'TOKEN_VALID'
              ? t('account.tokenValid', { until: dateTime(account.tokenExpiresAt, lang) })
              : t('account.tokenInvalid')}
        </p>
        <button type="button" data-testid="account-get-token" onClick={() => void fetchToken()} disabled={tokenBusy || !account.hasCredentials}>
          {tokenBusy ? t('common.loading') : t('account.getToken')}
        </button>
        <ErrorBox error={tokenError} testId="account-token-error" />
        {token && (
          <div className="token" data-testid="account-token" data-has-token={String(token.hasToken)}>
            {token.hasToken ? (
              <>
                <div>{t('account.tokenShown', { type: token.tokenType ?? 'Bearer', until: dateTime(token.expiresAt, lang) })}</div>
                <code data-testid="account-token-value">{maskToken(token.accessToken)}</code>
              </>
            ) : (
              <span>{token.message}</span>
            )}
          </div>
        )}
      </Card>
      <Card title={t('account.updateCreds')} testId="credentials-card">
        <form onSubmit={save} className="form" data-testid="credentials-form">
          <label>
            {t('account.clientId')}
            <input data-testid="credentials-client-id" value={clientId} onChange={(e) => setClientId(e.target.value)} required autoComplete="off" />
          </label>
          <FieldError testId="credentials-client-id-error">{fieldError('clientId')}</FieldError>
          <label>
            {t('account.clientSecret')}
            <input
              data-testid="credentials-client-secret"
              type="password"
              value={clientSecret}
              onChange={(e) => setClientSecret(e.target.value)}
              required
              autoComplete="off"
            />
          </label>
          <FieldError testId="credentials-client-secret-error">{fieldError('clientSecret')}</FieldError>
          {saveError && !(saveError instanceof ApiError && saveError.field) ? <ErrorBox error={saveError} testId="credentials-error" /> : null}
          {saved && (
            <p className="notice ok" data-testid="credentials-saved">
              {t('account.credsSaved')}
            </p>
          )}
          <button type="submit" className="primary" data-testid="credentials-submit" disabled={saving}>
            {saving ? t('common.loading') : t('common.save')}
          </button>
        </form>
      </Card>
    </div>
  );
}

function maskToken(token: string | null | undefined): string {
  if (!token) return '';
  return token.length <= 12 ? token : `${token.slice(0, 6)}…${token.slice(-4)}`;
}
