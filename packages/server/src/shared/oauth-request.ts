import type { X509Certificate } from 'node:crypto';
import { invalidRequest, OAuthError, toResponse, type OAuthResponse } from './errors.js';

/** A framework-free view of an HTTP request: endpoints take this and return an OAuthResponse. */
export interface OAuthRequest {
  method: string;
  /** Absolute URL of the endpoint as the client addressed it (for DPoP htu and mTLS aliases). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string | undefined;
  remoteAddress: string;
  /** The client's TLS certificate: from our own TLS listener or a trusted proxy's header (RFC 8705). */
  clientCertificate?: ClientCertificate | undefined;
}

/** Where a request's client certificate comes from (RFC 8705): the TLS socket or a trusted proxy's header. */
export interface ClientCertificate {
  readonly certificate: X509Certificate;
  /** The chain was verified against the configured client CA (tlsCa) — required for tls_client_auth. */
  readonly chainVerified: boolean;
}

export type { OAuthResponse } from './errors.js';
export { NO_STORE, jsonResponse, toResponse } from './errors.js';

/** An OAuthError as its response (same as {@link toResponse}), with extra headers. */
export function errorResponse(e: OAuthError, extraHeaders: Record<string, string> = {}): OAuthResponse {
  const r = toResponse(e);
  return { ...r, headers: { ...r.headers, ...extraHeaders } };
}

export function header(req: OAuthRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (Array.isArray(v)) {
    if (v.length > 1) throw invalidRequest(`the ${name} header must be sent once`);
    return v[0];
  }
  return v;
}

/** Parameters of an application/x-www-form-urlencoded body. */
export class FormParams {
  constructor(private readonly map: Map<string, string[]>) {}

  /** The single value of `name`; empty counts as omitted (RFC 6749 §3.1); repeated → invalid_request. */
  get(name: string): string | undefined {
    const v = this.map.get(name);
    if (!v) return undefined;
    if (v.length > 1) throw invalidRequest(`parameter ${name} is repeated`);
    return v[0];
  }

  all(name: string): string[] {
    return this.map.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  /** RFC 6749 §3.1/§3.2: "Request and response parameters MUST NOT be included more than once." */
  rejectRepeated(except: ReadonlySet<string>): void {
    for (const [k, v] of this.map) if (v.length > 1 && !except.has(k)) throw invalidRequest(`parameter ${k} is repeated`);
  }
}

const FORM = 'application/x-www-form-urlencoded';

function decode(s: string): string {
  // '+' is a space in form encoding (WHATWG URL / HTML forms); percent-escapes must be valid UTF-8.
  if (s.indexOf('+') !== -1) s = s.replace(/\+/g, ' ');
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalidRequest('malformed percent-encoding in the request body');
  }
}

export const MAX_PARAMS = 64;

/** Parses a form body. Non-form content → invalid_request (SPEC §3); empty values are dropped. */
export function parseForm(req: OAuthRequest): FormParams {
  const ct = header(req, 'content-type');
  const mediaType = ct?.split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType !== FORM) throw invalidRequest(`the request body must be ${FORM}`);
  const body = req.rawBody ?? '';
  const map = new Map<string, string[]>();
  if (body.length === 0) return new FormParams(map);
  let count = 0;
  for (const pair of body.split('&')) {
    if (pair.length === 0) continue;
    if (++count > MAX_PARAMS) throw invalidRequest('too many parameters');
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    if (value === '') continue;
    const l = map.get(name);
    if (l) l.push(value);
    else map.set(name, [value]);
  }
  return new FormParams(map);
}

export { OAuthError };
