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

export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new Event('lk-signed-out'));
    throw new ApiError(res.status, json?.error ?? 'error', json?.error_description ?? `HTTP ${res.status}`, json?.field);
  }
  return json as T;
}

/** The admin API (/admin/v1) through the console's session. */
export const admin = <T = any>(method: string, path: string, body?: unknown) => call<T>(method, `/console/api/admin${path}`, body);

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

/** Secrets shown in this tab (create / rotate), kept in memory only so the "try it" panel can use them. Never stored. */
export const recentSecrets = new Map<string, string>();

export function decodeJwtPart(part: string): unknown {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}
