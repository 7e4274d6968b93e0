/** Same-origin calls to the console API. The admin token never reaches the browser: only an HttpOnly session cookie. */
export interface Session {
  client_id: string;
  csrf_token: string;
  expires_at: string;
  issuer?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly field?: string,
  ) {
    super(description);
  }
}

let csrf = '';
export const setCsrf = (t: string) => (csrf = t);

/** An RFC-shaped error body (`{"error", "error_description", "field"?}`), if `json` is one. */
function errorBody(json: unknown): { error?: string; error_description?: string; field?: string } {
  if (typeof json !== 'object' || json === null) return {};
  const o = json as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { error: str(o.error), error_description: str(o.error_description), field: str(o.field) };
}

/** `T` is the shape the caller expects from the endpoint (the console trusts its own server's answers). */
export async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new Event('lk-signed-out'));
    const e = errorBody(json);
    throw new ApiError(res.status, e.error ?? 'error', e.error_description ?? `HTTP ${res.status}`, e.field);
  }
  return json as T;
}

/** The admin API (/admin/v1) through the console's session. */
export const admin = <T = unknown>(method: string, path: string, body?: unknown) => call<T>(method, `/console/api/admin${path}`, body);

export interface Client {
  client_id: string;
  client_name: string;
  scope: string;
  default_scope: string | null;
  audience: string[];
  token_endpoint_auth_method: string;
  grant_types: string[];
  access_token_ttl: number | null;
  access_token_format: 'jwt' | 'opaque';
  disabled: boolean;
  client_id_issued_at: number;
  client_secret_expires_at?: number;
  client_secrets_active?: number;
  client_secret?: string;
  previous_secrets_expire_at?: number;
}

/** Client metadata `federated_identity` (SPEC §9): trusted issuer name, exact `sub`, claims that must be equal. */
export interface FederatedIdentity {
  issuer: string;
  subject: string;
  claims?: Record<string, string>;
}

export type FederatedClient = Client & { federated_identity?: FederatedIdentity };

/**
 * Secrets shown in this tab (create / rotate), client id → secret, kept in memory only so the "try it" panel
 * can use them. Never stored. One per app, made by `App` (main.tsx) and passed to the screens that use it.
 */
export type RecentSecrets = Map<string, string>;

export function decodeJwtPart(part: string): unknown {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}
