import { timingSafeEqual } from 'node:crypto';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { OAuthError, errSummary, invalidRequest, isUnexpected, methodNotAllowed, payloadTooLarge, toResponse } from '../shared/errors.js';
import { bearerChallenge, bearerToken, invalidToken } from '../shared/bearer.js';
import { LEGACY_IAT_MESSAGE, REGISTRATION_ACCESS_TOKEN_PREFIX, isLegacyRegistrationToken, newOpaqueToken, tokenHash } from './registration-tokens.js';
import { RESERVED_SCOPE_PREFIX } from '../shared/scope.js';
import type { Config } from '../config.js';
import type { SecretHasher } from '../client-auth/secret-hash.js';
import type { Store } from '../store/store.js';
import { ClientService, ValidationError } from './clients.service.js';
import { EXTRA_FIELDS } from './client-metadata.js';
import type { ClientRecord, ClientRegistrationRecord, RegistrationTokenRecord } from '../store/types.js';
import { NO_STORE, jsonResponse, type OAuthResponse } from '../shared/oauth-request.js';

/** What RFC 7591/7592 registration works with. */
export interface RegistrationDeps {
  readonly issuer: string;
  readonly store: Store;
  readonly hasher: SecretHasher;
  readonly clients: ClientService;
  readonly log: Logger;
  /** `registrationAccessTokenTtl`: how long a registration access token works after it was issued. */
  readonly config: Pick<Config, 'registrationAccessTokenTtl'>;
}

export const REGISTRATION_PATH = '/oauth2/register';
/**
 * SPEC §7: registration and RFC 7592 update bodies are at most 16 KiB (client metadata "≤ 16 KiB in
 * all"); larger ones are refused while being read with 413 `invalid_request` (RFC 9110 §15.5.14),
 * as the HTTP layer answers any body over its general limit.
 */
export const REGISTRATION_BODY_LIMIT = 16 * 1024;
const REALM = 'latchkey-registration';

/** A registration request as the endpoint needs it: framework-free. `body` is the parsed JSON (or a string for other media types). */
export interface RegistrationRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** RFC 7592: the client_id in the client configuration endpoint's path. */
  clientId?: string;
}

/** Metadata a registering client may send (RFC 7591 §2 names plus Latchkey's audience/default_scope/token options). */
const SETTABLE = new Set([
  'client_name',
  'scope',
  'default_scope',
  'audience',
  'token_endpoint_auth_method',
  'grant_types',
  'jwks',
  'jwks_uri',
  'access_token_ttl',
  'access_token_format',
  ...EXTRA_FIELDS,
]);

/**
 * Server-managed fields a client may echo back from a read (RFC 7592 §2.2 says it MUST NOT send some
 * of them; we ignore rather than fail, as many client libraries round-trip the whole document).
 */
const IGNORED_ON_UPDATE = new Set(['client_id_issued_at', 'client_secret_expires_at', 'client_secrets_active', 'registration_access_token', 'registration_client_uri', 'disabled']);

const metadataError = (field: string, message: string) => new ValidationError(field, message);

function jsonObject(body: unknown): Record<string, unknown> {
  // RFC 7591 §3.1: "the client sends an HTTP POST to the client registration endpoint with a content type of application/json".
  if (typeof body === 'string' || body === undefined || body === null) throw invalidRequest('the request body must be a JSON object sent as application/json');
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidRequest('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

const scopesOf = (s: unknown): string[] => (typeof s === 'string' ? s.split(' ').filter(Boolean) : []);

/** What an initial access token allows (SPEC §7), copied onto every client it registers. */
interface Caps {
  readonly scope: readonly string[];
  readonly audience: readonly string[];
}

/**
 * Registration policy (SPEC §7, docs/admin-api.md): keep only metadata a client may set (unknown names
 * are ignored, RFC 7591 §2); the client never picks its client_id (SPEC §3, RFC 9700 §4.15); scopes and
 * audiences stay inside the caps (omitted: the caps themselves, RFC 7591 §2 "the authorization server
 * MAY register a client with a default set"); `latchkey:*` scopes are never granted. Everything else
 * (access_token_ttl ≤ maxAccessTokenTtl, keys, jwks_uri, sizes) is ClientService's one set of rules.
 */
function applyPolicy(raw: Record<string, unknown>, caps: Caps): Record<string, unknown> {
  if (raw.client_id !== undefined) throw metadataError('client_id', 'is chosen by the server (RFC 9700 §4.15)');
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (SETTABLE.has(k)) meta[k] = v;
  if (typeof meta.scope === 'string') {
    const cap = new Set(caps.scope);
    for (const sc of scopesOf(meta.scope)) {
      if (sc.startsWith(RESERVED_SCOPE_PREFIX)) throw metadataError('scope', `"${sc}" is reserved to Latchkey and never granted through registration`);
      if (!cap.has(sc)) throw metadataError('scope', `"${sc}" is not allowed by the initial access token`);
    }
  } else if (meta.scope === undefined) {
    meta.scope = caps.scope.join(' ');
  }
  if (Array.isArray(meta.audience)) {
    const cap = new Set(caps.audience);
    for (const a of meta.audience as unknown[]) {
      if (typeof a === 'string' && !cap.has(a)) throw metadataError('audience', `"${a.length > 200 ? a.slice(0, 200) + '…' : a}" is not allowed by the initial access token`);
    }
    // An empty list means "the server's default audience", which is not one the token allowed.
    if (meta.audience.length === 0 && caps.audience.length > 0) throw metadataError('audience', 'must name at least one audience allowed by the initial access token');
  } else if (meta.audience === undefined) {
    meta.audience = [...caps.audience];
  }
  return meta;
}

async function initialAccessToken(s: RegistrationDeps, req: RegistrationRequest): Promise<RegistrationTokenRecord> {
  const token = bearerToken(req.headers.authorization, req.headers.dpop, REALM);
  if (token === undefined) {
    throw new OAuthError('invalid_token', 'an initial access token is required (RFC 7591 §3)', { headers: { 'www-authenticate': bearerChallenge(undefined, undefined, undefined, REALM) } });
  }
  const hash = tokenHash(token);
  const rec = await s.store.getRegistrationToken(hash);
  if (!rec || !timingSafeEqual(Buffer.from(rec.token_hash), Buffer.from(hash))) throw invalidToken('the initial access token is not valid', 'unknown', REALM);
  if (rec.expires_at != null && rec.expires_at <= Date.now()) throw invalidToken('the initial access token is not valid', 'expired', REALM);
  // SPEC §7: caps are mandatory; a token from before them registers nothing (and says what to do).
  if (isLegacyRegistrationToken(rec)) throw invalidToken(LEGACY_IAT_MESSAGE, 'legacy initial access token without caps', REALM);
  return rec;
}

/** The caps a registered client keeps (copied from its initial access token at registration). */
function capsOf(reg: ClientRegistrationRecord, record: ClientRecord): Caps {
  return {
    scope: (reg.scope_cap ?? record.scope).split(' ').filter(Boolean),
    audience: reg.audience_cap ?? record.audience,
  };
}

/**
 * RFC 7592 §3: the registration access token must be the one issued for this client_id, unexpired
 * (SPEC §7); anything else is 401.
 */
async function registrationAccessToken(s: RegistrationDeps, req: RegistrationRequest): Promise<{ token: string; record: ClientRecord; reg: ClientRegistrationRecord; caps: Caps }> {
  const token = bearerToken(req.headers.authorization, req.headers.dpop, REALM);
  if (token === undefined) {
    throw new OAuthError('invalid_token', 'a registration access token is required (RFC 7592 §3)', { headers: { 'www-authenticate': bearerChallenge(undefined, undefined, undefined, REALM) } });
  }
  const reg = req.clientId ? await s.store.getClientRegistration(req.clientId) : undefined;
  const hash = Buffer.from(tokenHash(token));
  const stored = Buffer.from(reg?.token_hash ?? tokenHash('')); // compare even when unknown: same work either way
  const match = stored.length === hash.length && timingSafeEqual(stored, hash);
  // RFC 7592 §2.1: an unknown client, or a token not issued for it → 401, never 404 (no probing of ids).
  if (!reg || !match) throw invalidToken('the registration access token is not valid', 'no match', REALM);
  const issued = reg.token_issued_at ?? reg.created_at;
  if (issued + s.config.registrationAccessTokenTtl * 1000 <= Date.now()) throw invalidToken('the registration access token has expired', 'expired', REALM);
  const record = await s.store.getClient(reg.client_id);
  if (!record) throw invalidToken('the registration access token is not valid', 'client gone', REALM);
  return { token, record, reg, caps: capsOf(reg, record) };
}

/** SPEC §7: a disabled client's registration cannot be changed (or deleted) with its registration access token. */
function refuseDisabled(record: ClientRecord): void {
  if (record.disabled) throw invalidToken('the client is disabled; its registration cannot be changed', 'client disabled', REALM);
}

const uriOf = (s: RegistrationDeps, clientId: string) => `${s.issuer}${REGISTRATION_PATH}/${encodeURIComponent(clientId)}`;

/**
 * RFC 7591 §3.1 client registration: POST /oauth2/register with an admin-issued initial access token.
 * The caps are checked first, then one registration is taken from the token's quota atomically (and
 * given back if the client is not created).
 */
export async function registerClient(s: RegistrationDeps, req: RegistrationRequest): Promise<OAuthResponse> {
  const iat = await initialAccessToken(s, req);
  const caps: Caps = { scope: (iat.scope ?? '').split(' ').filter(Boolean), audience: iat.audience ?? [] };
  const meta = applyPolicy(jsonObject(req.body), caps);
  if (!(await s.store.reserveRegistration(iat.token_hash, Date.now()))) {
    throw invalidToken(`the initial access token has registered its maximum number of clients (${iat.max_clients ?? 0})`, 'quota used up', REALM);
  }
  const svc = s.clients;
  let created: Record<string, unknown>;
  try {
    created = await svc.create(meta, `registration:${iat.token_hash.slice(0, 12)}`);
  } catch (e) {
    await s.store.releaseRegistration(iat.token_hash).catch(() => {});
    throw e;
  }
  const clientId = created.client_id as string;
  const rat = newOpaqueToken(REGISTRATION_ACCESS_TOKEN_PREFIX);
  const now = Date.now();
  try {
    await s.store.insertClientRegistration({
      client_id: clientId,
      token_hash: tokenHash(rat),
      scope_cap: caps.scope.join(' '),
      audience_cap: [...caps.audience],
      created_at: now,
      created_by: iat.token_hash,
      token_issued_at: now,
    });
  } catch (e) {
    await s.store.deleteClient(clientId).catch(() => {});
    await s.store.releaseRegistration(iat.token_hash).catch(() => {});
    throw e;
  }
  // RFC 7591 §3.2.1: 201 with the registered metadata, client_secret(_expires_at) and, per RFC 7592 §3, the management credentials.
  return jsonResponse(201, { ...created, registration_access_token: rat, registration_client_uri: uriOf(s, clientId) }, { ...NO_STORE });
}

/** RFC 7592 §2.1 read: the current registration, never the secret (we hold only its hash). */
export async function readRegistration(s: RegistrationDeps, req: RegistrationRequest): Promise<OAuthResponse> {
  const { token, record } = await registrationAccessToken(s, req);
  const pub = await s.clients.get(record.client_id);
  return jsonResponse(200, { ...pub, registration_access_token: token, registration_client_uri: uriOf(s, record.client_id) }, { ...NO_STORE });
}

/**
 * RFC 7592 §2.2 update: the request replaces the client's metadata; omitted fields return to their
 * defaults ("Omitted fields MUST be treated as null or empty values"), except
 * token_endpoint_auth_method, which cannot change and is kept when omitted.
 */
export async function updateRegistration(s: RegistrationDeps, req: RegistrationRequest): Promise<OAuthResponse> {
  const { record, reg, caps } = await registrationAccessToken(s, req);
  refuseDisabled(record);
  const raw = { ...jsonObject(req.body) };
  // RFC 7592 §2.2: "The client MUST include its client_id field in the request, and it MUST be the same as its currently issued client identifier."
  if (raw.client_id !== record.client_id) throw metadataError('client_id', 'must be present and equal to the registered client_id');
  delete raw.client_id;
  if (raw.client_secret !== undefined) {
    // RFC 7592 §2.2: "If the client includes the client_secret field in the request, the value of this field MUST match the currently issued client secret".
    const live = (await s.store.listSecrets(record.client_id)).filter((x) => x.expires_at == null || x.expires_at > Date.now());
    if (typeof raw.client_secret !== 'string' || !s.hasher.verify(raw.client_secret, live.map((x) => x.hash))) throw metadataError('client_secret', 'does not match the issued client secret');
    delete raw.client_secret;
  }
  for (const k of IGNORED_ON_UPDATE) delete raw[k];
  const meta = applyPolicy(raw, caps);
  const full: Record<string, unknown> = {
    client_name: record.client_id,
    default_scope: null,
    audience: [],
    grant_types: ['client_credentials'],
    jwks: null,
    jwks_uri: null,
    access_token_ttl: null,
    access_token_format: 'jwt',
    ...meta,
  };
  full.token_endpoint_auth_method ??= record.token_endpoint_auth_method;
  const svc = s.clients;
  // RFC 7592 §3 / SPEC §7: every successful update issues a new registration access token. The swap is
  // a compare-and-set on the presented token, made before the change: of two concurrent updates with
  // one token only one proceeds; if the change is then refused, the old token is put back.
  const rat = newOpaqueToken(REGISTRATION_ACCESS_TOKEN_PREFIX);
  const newHash = tokenHash(rat);
  if (!(await s.store.rotateRegistrationAccessToken(record.client_id, reg.token_hash, newHash, Date.now()))) {
    throw invalidToken('the registration access token is not valid', 'rotated concurrently', REALM);
  }
  try {
    await svc.update(record.client_id, full, `client:${record.client_id}`);
  } catch (e) {
    await s.store.rotateRegistrationAccessToken(record.client_id, newHash, reg.token_hash, reg.token_issued_at ?? reg.created_at).catch(() => false);
    throw e;
  }
  // Extension fields the request omitted are removed (update() only merges the fields it is given).
  const dropped = EXTRA_FIELDS.filter((k) => meta[k] === undefined && record.extra[k] !== undefined);
  if (dropped.length) {
    const extra = { ...record.extra };
    for (const k of dropped) delete extra[k];
    await s.store.updateClient(record.client_id, { extra, updated_at: Date.now() });
  }
  const pub = await svc.get(record.client_id);
  return jsonResponse(200, { ...pub, registration_access_token: rat, registration_client_uri: uriOf(s, record.client_id) }, { ...NO_STORE });
}

/** RFC 7592 §2.3 delete: 204; the client and its registration access token stop working. */
export async function deleteRegistration(s: RegistrationDeps, req: RegistrationRequest): Promise<OAuthResponse> {
  const { record } = await registrationAccessToken(s, req);
  refuseDisabled(record);
  await s.clients.delete(record.client_id, `client:${record.client_id}`);
  return { status: 204, headers: { ...NO_STORE }, body: '' };
}

type Endpoint = (s: RegistrationDeps, r: RegistrationRequest) => Promise<OAuthResponse>;

/** RFC 7591 §3.2.2: errors are JSON {error, error_description} (ours also name the `field`), via the one error boundary. */
async function run(s: RegistrationDeps, fn: Endpoint, req: FastifyRequest, reply: FastifyReply) {
  let r: OAuthResponse;
  try {
    const clientId = (req.params as { id?: string } | undefined)?.id;
    r = await fn(s, { method: req.method, headers: req.headers, body: req.body, ...(clientId !== undefined ? { clientId } : {}) });
  } catch (e) {
    if (isUnexpected(e)) s.log.error({ err: errSummary(e), stack: (e as Error)?.stack }, 'registration endpoint error');
    r = toResponse(e);
  }
  return reply.code(r.status).headers(r.headers).send(r.body);
}

/** POST /oauth2/register (RFC 7591) and GET/PUT/DELETE /oauth2/register/{id} (RFC 7592), as a Fastify feature. */
export function registrationFeature(s: RegistrationDeps): { readonly name: string; readonly plugin: FastifyPluginAsync; readonly metadata: Readonly<Record<string, unknown>> } {
  const notAllowed = (allow: string) => (_req: FastifyRequest, reply: FastifyReply) => {
    const r = toResponse(methodNotAllowed(allow));
    return reply.code(r.status).headers(r.headers).send(r.body);
  };
  return {
    name: 'registration',
    metadata: { registration_endpoint: `${s.issuer}${REGISTRATION_PATH}` },
    plugin: async (app) => {
      // Bodies over REGISTRATION_BODY_LIMIT: 413 with the limit that applies here; anything else goes
      // on to the HTTP layer's error boundary.
      app.setErrorHandler((err: FastifyError, _req, reply) => {
        if (err.statusCode !== 413) throw err;
        const r = toResponse(payloadTooLarge(REGISTRATION_BODY_LIMIT));
        return reply.code(r.status).headers(r.headers).send(r.body);
      });
      const limited = { bodyLimit: REGISTRATION_BODY_LIMIT };
      app.post(REGISTRATION_PATH, limited, (req, reply) => run(s, registerClient, req, reply));
      app.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: REGISTRATION_PATH, handler: notAllowed('POST') });
      const path = `${REGISTRATION_PATH}/:id`;
      app.get(path, (req, reply) => run(s, readRegistration, req, reply));
      app.put(path, limited, (req, reply) => run(s, updateRegistration, req, reply));
      app.delete(path, (req, reply) => run(s, deleteRegistration, req, reply));
      app.route({ method: ['POST', 'PATCH', 'OPTIONS'], url: path, handler: notAllowed('GET, PUT, DELETE') });
    },
  };
}
