import { useState, type FormEvent } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { ErrorBox } from '../components/ui';
import { useI18n } from '../i18n';

export function SignInPage() {
  const { signIn } = useAuth();
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };

  return (
    <form className="card signin" onSubmit={submit} data-testid="signin-form">
      <h1>{t('signin.title')}</h1>
      <label>
        {t('signin.username')}
        <input data-testid="signin-username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
      </label>
      <label>
        {t('signin.password')}
        <input
          data-testid="signin-password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      <ErrorBox error={error} testId="signin-error" />
      <button type="submit" className="primary" data-testid="signin-submit" disabled={busy}>
        {busy ? t('common.loading') : t('signin.submit')}
      </button>
    </form>
  );
}
