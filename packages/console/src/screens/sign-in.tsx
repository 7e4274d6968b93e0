import { useState } from 'preact/hooks';
import { call, type Session } from '../api.js';
import { ErrorBox, Field } from '../components.js';

/** Sign in with the admin client's credentials; the server exchanges them for a token (client credentials) and keeps it. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [id, setId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await call<Session>('POST', '/console/api/session', { client_id: id.trim(), client_secret: secret.trim() }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <h1>Latchkey console</h1>
      <p class="muted">Sign in with an admin client (scope latchkey:admin). The first start of the server printed one.</p>
      <form onSubmit={submit}>
        <Field label="Client ID">
          <input name="client_id" autoComplete="username" value={id} onInput={(e) => setId(e.currentTarget.value)} required />
        </Field>
        <Field label="Client secret">
          <input name="client_secret" type="password" autoComplete="current-password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required />
        </Field>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy} data-testid="sign-in">
          Sign in
        </button>
      </form>
    </div>
  );
}
