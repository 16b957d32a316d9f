/** The shell: session, the signed-in user, navigation, the organization switcher and the routes. */
import { useCallback, useMemo, useState, type ReactNode } from 'react';
import { Provider, useQuery } from 'urql';
import { createClient, hasQuery } from './client';
import { LoginPage } from './pages/login';
import { AgreementsPage } from './pages/agreements';
import { ApiKeysPage } from './pages/api-keys';
import { CatalogModelPage, CatalogPage } from './pages/catalog';
import { EarningsPage } from './pages/earnings';
import { InvoicePage, InvoicesPage } from './pages/invoices';
import { ModelPage, ModelsPage } from './pages/models';
import { PayoutAccountPage } from './pages/payout-account';
import { PayoutBatchesPage, PayoutBatchPage, ReconciliationPage, VendorHoldsPage, VendorPayoutsPage } from './pages/payouts';
import { PoolReviewPage, PoolSubscriptionPage } from './pages/pool';
import { StudentModelPage, StudentModelsPage } from './pages/student-models';
import { UsagePage } from './pages/usage';
import { AnomalyFlagsPage, AuditLogPage, CertificationQueuePage } from './pages/admin';
import { Link, match, navigate, RouterProvider, usePath } from './router';
import { getToken, setToken } from './session';
import { ClockBadge, ClockProvider } from './time';
import { ApiError, Loading } from './ui';

export interface Membership {
  role: 'OWNER' | 'MEMBER';
  organization: { id: string; name: string; country: string | null };
}

export interface MeData {
  me: { id: string; email: string; isAdmin: boolean; memberships: Membership[] };
}

/**
 * The payout screens (a vendor's payouts, the admins' payout review: batches,
 * approval, holds, execution, reconciliation) are registered in the route
 * table below; their navigation entries appear when the API serves payouts.
 */
const PAYOUT_SCREENS = true;

const ME = `query Me { me { id email isAdmin memberships { role organization { id name country } } } }`;

export function App() {
  const [token, setTokenState] = useState(getToken);
  const signOut = useCallback(() => {
    setToken(null);
    setTokenState(null);
  }, []);
  // A new client (and an empty cache) per session: nothing of one user is shown to the next.
  const client = useMemo(() => createClient(signOut), [token, signOut]);
  const signIn = (t: string) => {
    setToken(t);
    setTokenState(t);
  };
  return (
    <Provider value={client}>
      <RouterProvider>{token ? <SignedIn onSignOut={signOut} /> : <LoginPage onSignedIn={signIn} />}</RouterProvider>
    </Provider>
  );
}

interface NavItem {
  to: string;
  label: string;
}

function SignedIn({ onSignOut }: { onSignOut: () => void }) {
  const [{ data, fetching, error }] = useQuery<MeData>({ query: ME });
  const path = usePath();
  if (fetching && !data) return <Loading what="your account" />;
  if (error || !data) {
    return (
      <main id="main" className="standalone">
        <ApiError error={error} />
        <button type="button" onClick={onSignOut}>
          Log in again
        </button>
      </main>
    );
  }
  const me = data.me;
  const orgMatch = /^\/o\/([^/]+)(\/.*)?$/.exec(path);
  const orgId = orgMatch ? decodeURIComponent(orgMatch[1]) : null;
  const first = me.memberships[0]?.organization.id;
  if (path === '/' || path === '/login') {
    const to = first ? `/o/${first}/catalog` : me.isAdmin ? '/admin/flags' : null;
    if (to) {
      queueMicrotask(() => navigate(to, true));
      return <Loading what="the console" />;
    }
  }
  const section = orgMatch?.[2] ?? '/catalog';
  const vendorNav: NavItem[] = [
    { to: 'models', label: 'Models & offers' },
    { to: 'vendor-usage', label: 'Usage by agreement' },
    { to: 'earnings', label: 'Earnings & statements' },
    { to: 'payout-account', label: 'Payout account' },
    // Payouts: the entry appears once its page is registered (PAYOUT_SCREENS) and the API serves payouts.
    ...(PAYOUT_SCREENS && hasQuery('payouts') ? [{ to: 'payouts', label: 'Payouts' }] : []),
  ];
  const distillerNav: NavItem[] = [
    { to: 'catalog', label: 'Catalog' },
    { to: 'agreements', label: 'Agreements' },
    { to: 'keys', label: 'API keys' },
    { to: 'usage', label: 'Usage' },
    { to: 'invoices', label: 'Invoices & payment' },
    { to: 'student-models', label: 'Student models' },
    ...(hasQuery('poolSubscriptions') ? [{ to: 'pool', label: 'Pool subscription' }] : []),
  ];
  const adminNav: NavItem[] = [
    { to: '/admin/flags', label: 'Anomaly flags' },
    { to: '/admin/certification', label: 'Certification queue' },
    ...(PAYOUT_SCREENS && hasQuery('payoutBatches')
      ? [
          { to: '/admin/payouts', label: 'Payout review' },
          { to: '/admin/reconciliation', label: 'Reconciliation' },
        ]
      : []),
    ...(hasQuery('vendorPayoutHolds') ? [{ to: '/admin/payout-holds', label: 'Vendor payout holds' }] : []),
    ...(hasQuery('poolStatement') ? [{ to: '/admin/pool', label: 'Pool earnings' }] : []),
    { to: '/admin/audit', label: 'Audit log' },
  ];
  const navList = (title: string, items: NavItem[], prefix: string) => (
    <div className="nav-group">
      <h2>{title}</h2>
      <ul>
        {items.map((i) => {
          const to = prefix + i.to;
          const active = path === to || path.startsWith(to + '/');
          return (
            <li key={to}>
              <Link to={to} aria-current={active ? 'page' : undefined} className={active ? 'active' : undefined}>
                {i.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </div>
  );
  const known = me.memberships.some((m) => m.organization.id === orgId);
  return (
    <ClockProvider>
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Beiming console</span>
        {me.memberships.length > 0 ? (
          <label className="org-switch">
            <span>Organization</span>
            <select
              value={orgId ?? ''}
              onChange={(e) => navigate(`/o/${e.target.value}${section.split('/').slice(0, 2).join('/')}`)}
            >
              {orgId && !known ? <option value={orgId}>Unknown organization</option> : null}
              {!orgId ? <option value="">Choose…</option> : null}
              {me.memberships.map((m) => (
                <option key={m.organization.id} value={m.organization.id}>
                  {m.organization.name} ({m.role.toLowerCase()})
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <ClockBadge />
        <span className="who">
          {me.email}
          {me.isAdmin ? ' · admin' : ''}
        </span>
        <button type="button" onClick={onSignOut}>
          Log out
        </button>
      </header>
      <div className="body">
        <nav aria-label="Console">
          {orgId || first ? navList('Distiller', distillerNav, `/o/${orgId ?? first}/`) : null}
          {orgId || first ? navList('Vendor', vendorNav, `/o/${orgId ?? first}/`) : null}
          {me.isAdmin ? navList('Admin', adminNav, '') : null}
        </nav>
        <main id="main">{route(path)}</main>
      </div>
    </div>
    </ClockProvider>
  );
}

function route(path: string): ReactNode {
  const table: [string, (p: Record<string, string>) => ReactNode][] = [
    ['/o/:org/models', (p) => <ModelsPage orgId={p.org} />],
    ['/o/:org/models/:id', (p) => <ModelPage orgId={p.org} modelId={p.id} />],
    ['/o/:org/vendor-usage', (p) => <UsagePage orgId={p.org} role="VENDOR" />],
    ['/o/:org/earnings', (p) => <EarningsPage orgId={p.org} />],
    ['/o/:org/payout-account', (p) => <PayoutAccountPage orgId={p.org} />],
    ['/o/:org/catalog', (p) => <CatalogPage orgId={p.org} />],
    ['/o/:org/catalog/:id', (p) => <CatalogModelPage orgId={p.org} modelId={p.id} />],
    ['/o/:org/agreements', (p) => <AgreementsPage orgId={p.org} />],
    ['/o/:org/keys', (p) => <ApiKeysPage orgId={p.org} />],
    ['/o/:org/usage', (p) => <UsagePage orgId={p.org} role="DISTILLER" />],
    ['/o/:org/invoices', (p) => <InvoicesPage orgId={p.org} />],
    ['/o/:org/invoices/:id', (p) => <InvoicePage orgId={p.org} invoiceId={p.id} />],
    ['/o/:org/student-models', (p) => <StudentModelsPage orgId={p.org} />],
    ['/o/:org/student-models/:id', (p) => <StudentModelPage orgId={p.org} modelId={p.id} />],
    ['/o/:org/payouts', (p) => <VendorPayoutsPage orgId={p.org} />],
    ['/o/:org/pool', (p) => <PoolSubscriptionPage orgId={p.org} />],
    ['/admin/payouts', () => <PayoutBatchesPage />],
    ['/admin/payouts/:id', (p) => <PayoutBatchPage batchId={p.id} />],
    ['/admin/reconciliation', () => <ReconciliationPage />],
    ['/admin/payout-holds', () => <VendorHoldsPage />],
    ['/admin/pool', () => <PoolReviewPage />],
    ['/admin/flags', () => <AnomalyFlagsPage />],
    ['/admin/certification', () => <CertificationQueuePage />],
    ['/admin/audit', () => <AuditLogPage />],
  ];
  for (const [pattern, render] of table) {
    const params = match(pattern, path);
    if (params) return render(params);
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>The console has no page at {path}.</p>
    </section>
  );
}
