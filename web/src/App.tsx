import { lazy, Suspense } from 'react';
import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router-dom';
import { useAuth } from './auth/AuthProvider';
import { Loading, RealtimeBadge } from './components/ui';
import { useI18n } from './i18n';
import { RealtimeProvider } from './realtime/RealtimeProvider';
import { SignInPage } from './pages/SignInPage';
import { AccountPage } from './pages/AccountPage';
import { MarketPage } from './pages/MarketPage';
import { OrdersPage } from './pages/OrdersPage';
import { PortfolioPage } from './pages/PortfolioPage';

const AdminPage = lazy(() => import('./pages/AdminPage'));

function LangToggle() {
  const { lang, setLang, t } = useI18n();
  return (
    <button type="button" className="ghost" data-testid="lang-toggle" data-lang={lang} onClick={() => setLang(lang === 'ko' ? 'en' : 'ko')}>
      {t('lang.toggle')}
    </button>
  );
}

export function App() {
  const { signedIn, user, loading, signOut } = useAuth();
  const { t } = useI18n();
  const location = useLocation();

  if (!signedIn) {
    return (
      <div className="signin-shell">
        <div className="signin-top">
          <LangToggle />
        </div>
        <Routes>
          <Route path="/signin" element={<SignInPage />} />
          <Route path="*" element={<Navigate to="/signin" replace state={{ from: location.pathname }} />} />
        </Routes>
      </div>
    );
  }
  if (loading || !user) return <Loading testId="app-loading" />;

  const isAdmin = user.role === 'ADMIN';
  const links: [string, string][] = [
    ['/market', 'nav.market'],
    ['/orders', 'nav.orders'],
    ['/portfolio', 'nav.portfolio'],
    ['/account', 'nav.account'],
  ];
  if (isAdmin) links.push(['/admin', 'nav.admin']);

  return (
    <RealtimeProvider signedIn={signedIn}>
      <div className="shell">
        <header className="topbar">
          <span className="brand">{t('app.title')}</span>
          <nav className="nav" data-testid="nav">
            {links.map(([to, key]) => (
              <NavLink key={to} to={to} data-testid={`nav-${to.slice(1)}`}>
                {t(key)}
              </NavLink>
            ))}
          </nav>
          <div className="topbar-right">
            <RealtimeBadge />
            <span className="who" data-testid="current-user" data-role={user.role}>
              {user.username}
            </span>
            <LangToggle />
            <button type="button" className="ghost" data-testid="sign-out" onClick={() => void signOut()}>
              {t('nav.signOut')}
            </button>
          </div>
        </header>
        <main className="content">
          <Routes>
            <Route path="/" element={<Navigate to="/market" replace />} />
            <Route path="/signin" element={<Navigate to={(location.state as { from?: string } | null)?.from ?? '/market'} replace />} />
            <Route path="/account" element={<AccountPage />} />
            <Route path="/market" element={<MarketPage />} />
            <Route path="/market/:stockCode" element={<MarketPage />} />
            <Route path="/orders" element={<OrdersPage />} />
            <Route path="/orders/:orderId" element={<OrdersPage />} />
            <Route path="/portfolio" element={<PortfolioPage />} />
            <Route
              path="/admin/*"
              element={
                isAdmin ? (
                  <Suspense fallback={<Loading testId="admin-loading" />}>
                    <AdminPage />
                  </Suspense>
                ) : (
                  <Navigate to="/market" replace />
                )
              }
            />
            <Route path="*" element={<Navigate to="/market" replace />} />
          </Routes>
        </main>
      </div>
    </RealtimeProvider>
  );
}
