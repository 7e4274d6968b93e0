import { useState } from 'preact/hooks';
import { admin, type ApiError, type Client, type RecentSecrets } from '../api.js';
import { ErrorBox, SecretOnce } from '../components.js';
import { ClientForm, emptyForm, toBody } from './client-form.js';
import { FEDERATED_METHOD, FederatedFacts, FederatedUsage } from './federated-identity.js';

export function ClientCreate({ recentSecrets }: { recentSecrets: RecentSecrets }) {
  const [f, setF] = useState(emptyForm);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<Client | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const c = await admin<Client>('POST', '/clients', toBody(f, 'create'));
      if (c.client_secret) recentSecrets.set(c.client_id, c.client_secret);
      setCreated(c);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  if (created) {
    return (
      <section data-testid="client-created">
        <h2>Client created</h2>
        <dl class="facts">
          <dt>Name</dt>
          <dd>{created.client_name}</dd>
          <dt>Client ID</dt>
          <dd>
            <code data-testid="created-client-id">{created.client_id}</code>
          </dd>
          <dt>Method</dt>
          <dd>{created.token_endpoint_auth_method}</dd>
          <FederatedFacts client={created} />
        </dl>
        {created.client_secret ? <SecretOnce secret={created.client_secret} /> : <p class="muted">This client authenticates without a shared secret.</p>}
        {created.token_endpoint_auth_method === FEDERATED_METHOD && <FederatedUsage />}
        <div class="actions">
          <a class="button" href={`#/try/${encodeURIComponent(created.client_id)}`} data-testid="try-created">
            Try it
          </a>
          <a class="button secondary" href={`#/clients/${encodeURIComponent(created.client_id)}`}>
            Open client
          </a>
        </div>
      </section>
    );
  }
  return (
    <section>
      <h2>New client</h2>
      <form onSubmit={submit}>
        <ClientForm f={f} set={setF} mode="create" fieldError={error?.field} />
        <ErrorBox error={error} />
        <div class="actions">
          <button type="submit" data-testid="create-client">
            Create client
          </button>
          <a class="button secondary" href="#/clients">
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
