import { useState, type FormEvent } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router-dom';
import { admin as api, type Account, type Environment, type Role, type User } from '../api/endpoints';
import { usageSeries } from '../admin/usage';
import { SvgChart } from '../components/SvgChart';
import { Card, ErrorBox, FieldError, Loading, errorText } from '../components/ui';
import { dateTime, num, pct } from '../format';
import { useAsync } from '../hooks/useAsync';
import { useI18n } from '../i18n';

export default function AdminPage() {
  const { t } = useI18n();
  return (
    <div className="admin" data-testid="admin-page">
      <nav className="tabs" data-testid="admin-tabs">
        {(['users', 'accounts', 'usage', 'logs'] as const).map((tab) => (
          <NavLink key={tab} to={`/admin/${tab}`} data-testid={`admin-tab-${tab}`}>
            {t(`admin.${tab}`)}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Navigate to="/admin/users" replace />} />
        <Route path="users" element={<UsersTab />} />
        <Route path="accounts" element={<AccountsTab />} />
        <Route path="usage" element={<UsageTab />} />
        <Route path="logs" element={<LogsTab />} />
      </Routes>
    </div>
  );
}

function UsersTab() {
  const { t, lang } = useI18n();
  const users = useAsync(() => api.users(0, 500), []);
  const [form, setForm] = useState({ username: '', password: '', role: 'USER' as Role, userId: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [rowError, setRowError] = useState<string | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.createUser({ username: form.username.trim(), password: form.password, role: form.role, userId: form.userId.trim() || null });
      setForm({ username: '', password: '', role: 'USER', userId: '' });
      users.reload();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const toggle = async (user: User) => {
    setRowError(null);
    try {
      await api.updateUser(user.userId, { isActive: !user.isActive });
      users.reload();
    } catch (caught) {
      setRowError(errorText(caught));
    }
  };

  return (
    <div className="grid admin-grid">
      <Card title={t('admin.users')} testId="admin-users">
        {users.loading && !users.data && <Loading testId="admin-users-loading" />}
        <ErrorBox error={users.error} testId="admin-users-error" onRetry={users.reload} />
        <FieldError testId="admin-user-row-error">{rowError}</FieldError>
        {users.data && (
          <div className="table-scroll">
            <table className="table" data-testid="admin-users-table">
              <thead>
                <tr>
                  <th>{t('admin.userId')}</th>
                  <th>{t('admin.username')}</th>
                  <th>{t('admin.role')}</th>
                  <th>{t('admin.active')}</th>
                  <th>{t('admin.lastLogin')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {users.data.items.map((user) => (
                  <tr key={user.userId} data-testid={`admin-user-row-${user.userId}`} data-active={String(user.isActive)}>
                    <td>{user.userId}</td>
                    <td data-testid="admin-user-username">{user.username}</td>
                    <td>{user.role}</td>
                    <td data-testid="admin-user-active">{user.isActive ? t('common.yes') : t('common.no')}</td>
                    <td>{dateTime(user.lastLoginAt, lang)}</td>
                    <td>
                      <button type="button" className={user.isActive ? 'danger' : ''} data-testid="admin-user-toggle" onClick={() => void toggle(user)}>
                        {user.isActive ? t('admin.disable') : t('admin.enable')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title={`${t('admin.create')} · ${t('admin.users')}`} testId="admin-user-create">
        <form className="form" onSubmit={create} data-testid="admin-user-form">
          <label>
            {t('admin.username')}
            <input data-testid="admin-user-new-username" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} required minLength={3} />
          </label>
          <label>
            {t('admin.password')}
            <input data-testid="admin-user-new-password" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required />
          </label>
          <label>
            {t('admin.role')}
            <select data-testid="admin-user-new-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
              <option value="USER">USER</option>
              <option value="ADMIN">ADMIN</option>
            </select>
          </label>
          <label>
            {t('admin.userId')}
            <input data-testid="admin-user-new-id" value={form.userId} onChange={(e) => setForm({ ...form, userId: e.target.value })} placeholder="USER_001" />
          </label>
          <ErrorBox error={error} testId="admin-user-create-error" />
          <button type="submit" className="primary" data-testid="admin-user-create-submit" disabled={busy}>
            {t('admin.create')}
          </button>
        </form>
      </Card>
    </div>
  );
}

function AccountsTab() {
  const { t, lang } = useI18n();
  const accounts = useAsync(() => api.accounts(), []);
  const users = useAsync(() => api.users(0, 500), []);
  const [selected, setSelected] = useState<string | null>(null);
  const [historyRound, setHistoryRound] = useState(0);
  const [form, setForm] = useState({ environment: 'SIMULATOR' as Environment, kiwoomAccountId: '', displayName: '' });
  const [createError, setCreateError] = useState<unknown>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [choice, setChoice] = useState<Record<string, string>>({});

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setCreateError(null);
    try {
      await api.createAccount({
        environment: form.environment,
        kiwoomAccountId: form.kiwoomAccountId.trim() || null,
        displayName: form.displayName.trim() || null,
      });
      setForm({ ...form, kiwoomAccountId: '', displayName: '' });
      accounts.reload();
    } catch (caught) {
      setCreateError(caught);
    }
  };

  const act = async (account: Account, assign: boolean) => {
    const id = account.kiwoomAccountId;
    setRowErrors((e) => ({ ...e, [id]: '' }));
    try {
      if (assign) {
        const userId = choice[id];
        if (!userId) return;
        await api.assign(id, userId);
      } else {
        await api.unassign(id);
      }
      accounts.reload();
      setSelected(id);
      setHistoryRound((n) => n + 1);
    } catch (caught) {
      setRowErrors((e) => ({ ...e, [id]: errorText(caught) }));
    }
  };

  const activeUsers = users.data?.items.filter((u) => u.isActive) ?? [];

  return (
    <div className="grid admin-grid">
      <Card title={t('admin.accounts')} testId="admin-accounts">
        {accounts.loading && !accounts.data && <Loading testId="admin-accounts-loading" />}
        <ErrorBox error={accounts.error} testId="admin-accounts-error" onRetry={accounts.reload} />
        {accounts.data && (
          <div className="table-scroll">
            <table className="table" data-testid="admin-accounts-table">
              <thead>
                <tr>
                  <th>{t('account.id')}</th>
                  <th>{t('admin.environment')}</th>
                  <th>{t('admin.assignedTo')}</th>
                  <th>{t('admin.credentials')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {accounts.data.map((account) => {
                  const id = account.kiwoomAccountId;
                  return (
                    <tr key={id} data-testid={`admin-account-row-${id}`} data-user-id={account.userId ?? ''} className={selected === id ? 'selected' : ''}>
                      <td>
                        <button type="button" className="link" data-testid="admin-account-history" onClick={() => setSelected(id)}>
                          {id}
                        </button>
                        {account.displayName ? <div className="muted">{account.displayName}</div> : null}
                      </td>
                      <td>{account.environment}</td>
                      <td data-testid="admin-account-user">{account.userId ?? '—'}</td>
                      <td>{account.hasCredentials ? t('common.yes') : t('common.no')}</td>
                      <td className="actions">
                        {account.userId ? (
                          <button type="button" className="danger" data-testid="admin-account-unassign" onClick={() => void act(account, false)}>
                            {t('admin.unassign')}
                          </button>
                        ) : (
                          <>
                            <select
                              data-testid="admin-account-assign-user"
                              value={choice[id] ?? ''}
                              onChange={(e) => setChoice({ ...choice, [id]: e.target.value })}
                            >
                              <option value="">—</option>
                              {activeUsers.map((u) => (
                                <option key={u.userId} value={u.userId}>
                                  {u.username} ({u.userId})
                                </option>
                              ))}
                            </select>
                            <button type="button" data-testid="admin-account-assign" disabled={!choice[id]} onClick={() => void act(account, true)}>
                              {t('admin.assign')}
                            </button>
                          </>
                        )}
                        <FieldError testId={`admin-account-error-${id}`}>{rowErrors[id]}</FieldError>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <div className="stack">
        <Card title={`${t('admin.create')} · ${t('admin.accounts')}`} testId="admin-account-create">
          <form className="form" onSubmit={create} data-testid="admin-account-form">
            <label>
              {t('admin.environment')}
              <select data-testid="admin-account-new-environment" value={form.environment} onChange={(e) => setForm({ ...form, environment: e.target.value as Environment })}>
                <option value="SIMULATOR">SIMULATOR</option>
                <option value="MOCK">MOCK</option>
                <option value="PRODUCTION">PRODUCTION</option>
              </select>
            </label>
            <label>
              {t('admin.accountId')}
              <input data-testid="admin-account-new-id" value={form.kiwoomAccountId} onChange={(e) => setForm({ ...form, kiwoomAccountId: e.target.value })} />
            </label>
            <label>
              {t('admin.displayName')}
              <input data-testid="admin-account-new-name" value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} />
            </label>
            <ErrorBox error={createError} testId="admin-account-create-error" />
            <button type="submit" className="primary" data-testid="admin-account-create-submit">
              {t('admin.create')}
            </button>
          </form>
        </Card>
        {selected && <AssignmentHistory accountId={selected} round={historyRound} lang={lang} />}
      </div>
    </div>
  );
}

function AssignmentHistory({ accountId, round, lang }: { accountId: string; round: number; lang: 'ko' | 'en' }) {
  const { t } = useI18n();
  const history = useAsync(() => api.history(accountId), [accountId, round]);
  return (
    <Card title={`${t('admin.history')} · ${accountId}`} testId="admin-assignment-history">
      {history.loading && !history.data && <Loading testId="admin-history-loading" />}
      <ErrorBox error={history.error} testId="admin-history-error" />
      {history.data && history.data.length === 0 && <p className="muted">{t('admin.noData')}</p>}
      {history.data && history.data.length > 0 && (
        <ol className="events" data-testid="admin-history-list">
          {history.data.map((entry, i) => (
            <li key={i} data-testid="admin-history-entry" data-action={entry.action} data-user-id={entry.userId}>
              <span className="muted">{dateTime(entry.at, lang)}</span> <b>{entry.action}</b> {entry.userId}
              {entry.actorUserId ? <span className="muted"> · by {entry.actorUserId}</span> : null}
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}

function isoDay(offsetDays: number): string {
  const d = new Date(Date.now() + offsetDays * 86400_000);
  return d.toISOString().slice(0, 10);
}

function UsageTab() {
  const { t, lang } = useI18n();
  const [from, setFrom] = useState(isoDay(-6));
  const [to, setTo] = useState(isoDay(0));
  const [query, setQuery] = useState({ from, to });
  const usage = useAsync(
    () => api.usage({ from: `${query.from}T00:00:00Z`, to: `${query.to}T23:59:59Z` }),
    [query.from, query.to],
  );
  const errors = useAsync(() => api.logs({ success: false, size: 20 }), [query.from, query.to]);
  const data = usage.data ? usageSeries(usage.data.rows) : null;

  return (
    <div className="stack" data-testid="admin-usage">
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ from, to });
        }}
      >
        <label>
          {t('admin.from')}
          <input type="date" data-testid="admin-usage-from" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          {t('admin.to')}
          <input type="date" data-testid="admin-usage-to" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit" className="primary" data-testid="admin-usage-load">
          {t('admin.load')}
        </button>
      </form>
      {usage.loading && <Loading testId="admin-usage-loading" />}
      <ErrorBox error={usage.error} testId="admin-usage-error" onRetry={usage.reload} />
      {data && (
        <>
          {data.dates.length === 0 && <p className="muted" data-testid="admin-usage-empty">{t('admin.noData')}</p>}
          <div className="grid two">
            <Card title={t('admin.callsPerDay')}>
              <SvgChart
                testId="usage-chart-calls"
                labels={data.dates}
                series={[
                  { name: t('admin.calls'), values: data.callsPerDay },
                  { name: t('admin.errors'), values: data.errorsPerDay },
                ]}
              />
            </Card>
            <Card title={t('admin.successRate')}>
              <SvgChart testId="usage-chart-success" kind="line" labels={data.dates} series={data.successRate} max={100} unit="%" />
            </Card>
            <Card title={t('admin.latency')}>
              <SvgChart
                testId="usage-chart-latency"
                labels={data.perApi.map((a) => a.apiId)}
                series={[
                  { name: t('admin.avg'), values: data.perApi.map((a) => a.avg) },
                  { name: t('admin.p95'), values: data.perApi.map((a) => a.p95) },
                ]}
              />
            </Card>
            <Card title={t('admin.apiId')}>
              <div className="table-scroll">
                <table className="table" data-testid="usage-table">
                  <thead>
                    <tr>
                      <th>{t('admin.apiId')}</th>
                      <th className="num">{t('admin.calls')}</th>
                      <th className="num">{t('admin.successRate')}</th>
                      <th className="num">{t('admin.avg')}</th>
                      <th className="num">{t('admin.p95')}</th>
                      <th>{t('admin.errors')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.perApi.map((a) => (
                      <tr key={a.apiId} data-testid={`usage-row-${a.apiId}`}>
                        <td>{a.apiId}</td>
                        <td className="num">{num(a.calls)}</td>
                        <td className="num">{pct(a.successRate)}</td>
                        <td className="num">{num(a.avg)}</td>
                        <td className="num">{num(a.p95)}</td>
                        <td>
                          {Object.entries(a.errorCodes)
                            .map(([code, n]) => `${code}×${n}`)
                            .join(', ') || '—'}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Card>
          </div>
        </>
      )}
      <Card title={t('admin.recentErrors')} testId="admin-recent-errors">
        {errors.loading && !errors.data && <Loading testId="admin-errors-loading" />}
        <ErrorBox error={errors.error} testId="admin-errors-error" />
        {errors.data && errors.data.items.length === 0 && <p className="muted">{t('admin.noData')}</p>}
        {errors.data && errors.data.items.length > 0 && <LogTable items={errors.data.items} lang={lang} testId="admin-errors-table" />}
      </Card>
    </div>
  );
}

function LogTable({ items, lang, testId }: { items: NonNullable<Awaited<ReturnType<typeof api.logs>>>['items']; lang: 'ko' | 'en'; testId: string }) {
  const { t } = useI18n();
  return (
    <div className="table-scroll">
      <table className="table" data-testid={testId}>
        <thead>
          <tr>
            <th>{t('admin.time')}</th>
            <th>{t('admin.userId')}</th>
            <th>{t('admin.apiId')}</th>
            <th>{t('admin.endpoint')}</th>
            <th className="num">ms</th>
            <th>{t('admin.success')}</th>
            <th>{t('admin.errorCode')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((row) => (
            <tr key={row.id} data-testid={`log-row-${row.id}`} data-success={String(row.success)}>
              <td>{dateTime(row.usageTimestamp, lang)}</td>
              <td data-testid="log-user">{row.userId ?? '—'}</td>
              <td>{row.apiId}</td>
              <td className="muted">{row.endpoint}</td>
              <td className="num">{Math.round(row.responseTimeMs)}</td>
              <td className={row.success ? '' : 'down'}>{row.success ? '✓' : '✗'}</td>
              <td>{row.errorCode ?? (row.httpStatus && row.httpStatus >= 400 ? row.httpStatus : '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function LogsTab() {
  const { t, lang } = useI18n();
  const [userId, setUserId] = useState('');
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const size = 50;
  const logs = useAsync(() => api.logs({ userId: filter || undefined, page, size }), [filter, page]);
  const pages = logs.data ? Math.max(1, Math.ceil(logs.data.total / size)) : 1;
  return (
    <Card title={t('admin.logs')} testId="admin-logs">
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(0);
          setFilter(userId.trim());
        }}
      >
        <label>
          {t('admin.filterUser')}
          <input data-testid="admin-logs-user-filter" value={userId} onChange={(e) => setUserId(e.target.value)} placeholder="USER_001" />
        </label>
        <button type="submit" className="primary" data-testid="admin-logs-apply">
          {t('admin.load')}
        </button>
      </form>
      {logs.loading && <Loading testId="admin-logs-loading" />}
      <ErrorBox error={logs.error} testId="admin-logs-error" onRetry={logs.reload} />
      {logs.data && logs.data.items.length === 0 && <p className="muted" data-testid="admin-logs-empty">{t('admin.noData')}</p>}
      {logs.data && logs.data.items.length > 0 && <LogTable items={logs.data.items} lang={lang} testId="admin-logs-table" />}
      <div className="pager">
        <button type="button" data-testid="admin-logs-prev" disabled={page === 0} onClick={() => setPage(page - 1)}>
          {t('admin.prev')}
        </button>
        <span data-testid="admin-logs-page">{t('admin.page', { page: page + 1, pages })}</span>
        <button type="button" data-testid="admin-logs-next" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
          {t('admin.next')}
        </button>
      </div>
    </Card>
  );
}
