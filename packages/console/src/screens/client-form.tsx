import { Field } from '../components.js';
import { emptyFederated, FEDERATED_METHOD, FederatedFields, federatedBody, type FederatedState } from './federated-identity.js';

export interface FormState {
  client_name: string;
  scope: string;
  default_scope: string;
  audience: string;
  token_endpoint_auth_method: string;
  jwks: string;
  access_token_ttl: string;
  access_token_format: string;
  /** Only for federated_jwt (secretless) clients. */
  federated: FederatedState;
}

export const emptyForm: Readonly<FormState> = Object.freeze({
  client_name: '',
  scope: '',
  default_scope: '',
  audience: '',
  token_endpoint_auth_method: 'client_secret_basic',
  jwks: '',
  access_token_ttl: '',
  access_token_format: 'jwt',
  federated: emptyFederated(),
});

/** Form → admin API body. Empty optional fields are null on update (cleared) and omitted on create. */
export function toBody(f: FormState, mode: 'create' | 'update'): Record<string, unknown> {
  const b: Record<string, unknown> = {
    client_name: f.client_name.trim(),
    scope: f.scope.trim(),
    audience: f.audience
      .split(/\s+/)
      .map((x) => x.trim())
      .filter(Boolean),
    access_token_format: f.access_token_format,
  };
  const ds = f.default_scope.trim();
  if (ds) b.default_scope = ds;
  else if (mode === 'update') b.default_scope = null;
  const ttl = f.access_token_ttl.trim();
  if (ttl) b.access_token_ttl = /^\d+$/.test(ttl) ? Number(ttl) : ttl;
  else if (mode === 'update') b.access_token_ttl = null;
  if (mode === 'create') {
    b.token_endpoint_auth_method = f.token_endpoint_auth_method;
    if (f.jwks.trim()) {
      try {
        b.jwks = JSON.parse(f.jwks);
      } catch {
        b.jwks = f.jwks;
      }
    }
  }
  if (f.token_endpoint_auth_method === FEDERATED_METHOD) b.federated_identity = federatedBody(f.federated);
  return b;
}

export function ClientForm({ f, set, mode, fieldError }: { f: FormState; set: (f: FormState) => void; mode: 'create' | 'update'; fieldError?: string | undefined }) {
  const bind = (k: Exclude<keyof FormState, 'federated'>) => ({
    value: f[k],
    name: k,
    class: fieldError === k || fieldError?.startsWith(`${k}.`) ? 'invalid' : '',
    onInput: (e: Event) => set({ ...f, [k]: (e.currentTarget as HTMLInputElement).value }),
  });
  return (
    <div class="form">
      <Field label="Name">
        <input {...bind('client_name')} required />
      </Field>
      <Field label="Allowed scopes" hint="space-separated, e.g. orders:read orders:write">
        <input {...bind('scope')} />
      </Field>
      <Field label="Default scope" hint="granted when a request names none (default: all allowed)">
        <input {...bind('default_scope')} />
      </Field>
      <Field label="Audiences" hint="one URI per line; the first is the default (RFC 8707 resource)">
        <textarea rows={3} {...bind('audience')} />
      </Field>
      {mode === 'create' && (
        <Field label="Authentication method">
          <select {...bind('token_endpoint_auth_method')} onChange={(e) => set({ ...f, token_endpoint_auth_method: e.currentTarget.value })}>
            <option value="client_secret_basic">client_secret_basic</option>
            <option value="client_secret_post">client_secret_post</option>
            <option value="client_secret_jwt">client_secret_jwt</option>
            <option value="private_key_jwt">private_key_jwt</option>
            <option value={FEDERATED_METHOD}>federated (secretless)</option>
          </select>
        </Field>
      )}
      {mode === 'create' && f.token_endpoint_auth_method === 'private_key_jwt' && (
        <Field label="JWKS" hint="the client's public keys, JSON">
          <textarea rows={4} {...bind('jwks')} />
        </Field>
      )}
      {f.token_endpoint_auth_method === FEDERATED_METHOD && <FederatedFields value={f.federated} onChange={(federated) => set({ ...f, federated })} fieldError={fieldError} />}
      <Field label="Token lifetime (s)" hint="empty: server default">
        <input inputMode="numeric" {...bind('access_token_ttl')} />
      </Field>
      <Field label="Token format">
        <select {...bind('access_token_format')} onChange={(e) => set({ ...f, access_token_format: e.currentTarget.value })}>
          <option value="jwt">JWT (RFC 9068)</option>
          <option value="opaque">opaque (introspection)</option>
        </select>
      </Field>
    </div>
  );
}
