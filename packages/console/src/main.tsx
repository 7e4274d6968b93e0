import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, setCsrf, type RecentSecrets, type Session } from './api.js';
import { SignIn } from './screens/sign-in.js';
import { ClientsList } from './screens/clients-list.js';
import { ClientCreate } from './screens/client-create.js';
import { ClientDetail } from './screens/client-detail.js';
import { Keys } from './screens/keys.js';
import { Audit } from './screens/audit.js';
import { TryIt } from './screens/try-it.js';
import { RegistrationTokens } from './screens/registration-tokens.js';
import { TrustedIssuerDetail, TrustedIssuers } from './screens/trusted-issuers.js';
import './styles.css';

/** Hash routes: #/clients, #/clients/new, #/clients/ID, #/keys, #/audit, #/registration, #/trusted-issuers[/NAME], #/try[/ID]. */
function useRoute(): string[] {
  const parse = () => (location.hash.replace(/^#\/?/, '') || 'clients').split('/').map(decodeURIComponent);
  const [r, setR] = useState(parse());
  useEffect(() => {
    const on = () => setR(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return r;
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const route = useRoute();
  const [recentSecrets] = useState<RecentSecrets>(() => new Map());
  useEffect(() => {
    call<Session>('GET', '/console/api/session')
      .then((s) => {
        setCsrf(s.csrf_token);
        setSession(s);
      })
      .catch(() => setSession(null));
    const out = () => setSession(null);
    window.addEventListener('lk-signed-out', out);
    return () => window.removeEventListener('lk-signed-out', out);
  }, []);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null)
    return (
      <SignIn
        onSignedIn={(s) => {
          setCsrf(s.csrf_token);
          setSession(s);
        }}
      />
    );

  const signOut = async () => {
    await call('DELETE', '/console/api/session').catch(() => {});
    setSession(null);
  };
  const [top, id] = route;
  let screen;
  if (top === 'clients' && id === 'new') screen = <ClientCreate recentSecrets={recentSecrets} />;
  else if (top === 'clients' && id) screen = <ClientDetail id={id} self={session.client_id} recentSecrets={recentSecrets} />;
  else if (top === 'keys') screen = <Keys />;
  else if (top === 'audit') screen = <Audit />;
  else if (top === 'registration') screen = <RegistrationTokens />;
  else if (top === 'trusted-issuers' && id) screen = <TrustedIssuerDetail name={id} />;
  else if (top === 'trusted-issuers') screen = <TrustedIssuers />;
  else if (top === 'try') screen = <TryIt preselect={id} recentSecrets={recentSecrets} />;
  else screen = <ClientsList />;
  const nav = (href: string, label: string, key: string) => (
    <a href={href} class={top === key ? 'active' : ''}>
      {label}
    </a>
  );
  return (
    <div class="shell">
      <header>
        <span class="brand">Latchkey</span>
        <nav>
          {nav('#/clients', 'Clients', 'clients')}
          {nav('#/trusted-issuers', 'Trusted issuers', 'trusted-issuers')}
          {nav('#/keys', 'Keys', 'keys')}
          {nav('#/audit', 'Audit log', 'audit')}
          {nav('#/registration', 'Registration', 'registration')}
          {nav('#/try', 'Try it', 'try')}
        </nav>
        <span class="who" data-testid="signed-in-as">
          {session.client_id}
        </span>
        <button class="link" onClick={signOut} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <main>{screen}</main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
