import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { OAuthError, errSummary, invalidRequest, isUnexpected, methodNotAllowed, toResponse } from '../shared/errors.js';
import { bearerChallenge, bearerToken, invalidToken } from '../shared/bearer.js';
import { REGISTRATION_ACCESS_TOKEN_PREFIX, newOpaqueToken, tokenHash } from './registration-tokens.js';
import { RESERVED_SCOPE_PREFIX } from '../shared/scope.js';
import type { SecretHasher } from '../client-auth/secret-hash.js';
import type { Store } from '../store/store.js';
import { ClientService, ValidationError } from './clients.service.js';
import { EXTRA_FIELDS } from './client-metadata.js';
import type { ClientRecord } from '../store/types.js';
import { NO_STORE, jsonResponse, type OAuthResponse } from '../shared/oauth-request.js';

/** What RFC 7591/7592 registration works with. */
export interface RegistrationDeps {
  readonly issuer: string;
  readonly store: Store;
  readonly hasher: SecretHasher;
  readonly clients: ClientService;
  readonly log: Logger;
}

export const REGISTRATION_PATH = '/oauth2/register';
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

/**
 * Registration policy (docs/admin-api.md): keep only metadata a client may set (unknown names are
 * ignored, RFC 7591 §2); the client never picks its client_id (SPEC §3, RFC 9700 §4.15); scopes are
 * capped by the initial access token, and without a cap `latchkey:*` scopes cannot be self-registered.
 */
function applyPolicy(raw: Record<string, unknown>, cap: string | null): Record<string, unknown> {
  if (raw.client_id !== undefined) throw metadataError('client_id', 'is chosen by the server (RFC 9700 §4.15)');
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (SETTABLE.has(k)) meta[k] = v;
  if (typeof meta.scope === 'string') {
    const capSet = cap === null ? undefined : new Set(cap.split(' ').filter(Boolean));
    for (const sc of scopesOf(meta.scope)) {
      if (capSet ? !capSet.has(sc) : sc.startsWith(RESERVED_SCOPE_PREFIX)) throw metadataError('scope', `"${sc}" is not allowed by the initial access token`);
    }
  } else if (meta.scope === undefined) {
    // RFC 7591 §2: when scope is omitted the server MAY register a default set: the token's cap.
    meta.scope = cap ?? '';
  }
  return meta;
}

async function initialAccessToken(s: RegistrationDeps, req: RegistrationRequest): Promise<{ id: string; scope: string | null }> {
  const token = bearerToken(req.headers.authorization, req.headers.dpop, REALM);
  if (token === undefined) {
    throw new OAuthError('invalid_token', 'an initial access token is required (RFC 7591 §3)', { headers: { 'www-authenticate': bearerChallenge(undefined, undefined, undefined, REALM) } });
  }
  const hash = tokenHash(token);
  const rec = await s.store.getRegistrationToken(hash);
  if (!rec || !timingSafeEqual(Buffer.from(rec.token_hash), Buffer.from(hash))) throw invalidToken('the initial access token is not valid', 'unknown', REALM);
  if (rec.expires_at != null && rec.expires_at <= Date.now()) throw invalidToken('the initial access token is not valid', 'expired', REALM);
  return { id: rec.token_hash, scope: rec.scope };
}

/** RFC 7592 §3: the registration access token must be the one issued for this client_id; anything else is 401. */
async function registrationAccessToken(s: RegistrationDeps, req: RegistrationRequest): Promise<{ token: string; record: ClientRecord; cap: string | null }> {
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
  const record = await s.store.getClient(reg.client_id);
  if (!record) throw invalidToken('the registration access token is not valid', 'client gone', REALM);
  return { token, record, cap: reg.scope_cap };
}

const uriOf = (s: RegistrationDeps, clientId: string) => `${s.issuer}${REGISTRATION_PATH}/${encodeURIComponent(clientId)}`;

/** RFC 7591 §3.1 client registration: POST /oauth2/register with an admin-issued initial access token. */
export async function registerClient(s: RegistrationDeps, req: RegistrationRequest): Promise<OAuthResponse> {
  const iat = await initialAccessToken(s, req);
  const meta = applyPolicy(jsonObject(req.body), iat.scope);
  const svc = s.clients;
  const created = await svc.create(meta as never, `registration:${iat.id.slice(0, 12)}`);
  const clientId = created.client_id as string;
  const rat = newOpaqueToken(REGISTRATION_ACCESS_TOKEN_PREFIX);
  try {
    await s.store.insertClientRegistration({ client_id: clientId, token_hash: tokenHash(rat), scope_cap: iat.scope, created_at: Date.now(), created_by: iat.id });
  } catch (e) {
    await s.store.deleteClient(clientId).catch(() => {});
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
  const { token, record, cap } = await registrationAccessToken(s, req);
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
  const meta = applyPolicy(raw, cap);
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
  await svc.update(record.client_id, full as never, `client:${record.client_id}`);
  // Extension fields the request omitted are removed (update() only merges the fields it is given).
  const dropped = EXTRA_FIELDS.filter((k) => meta[k] === undefined && record.extra[k] !== undefined);
  if (dropped.length) {
    const extra = { ...record.extra };
    for (const k of dropped) delete extra[k];
    await s.store.updateClient(record.client_id, { extra, updated_at: Date.now() });
  }
  const pub = await svc.get(record.client_id);
  return jsonResponse(200, { ...pub, registration_access_token: token, registration_client_uri: uriOf(s, record.client_id) }, { ...NO_STORE });
}

/** RFC 7592 §2.3 delete: 204; the client and its registration access token stop working. */
export async function deleteRegistration(s: RegistrationDeps, req: RegistrationRequest): Promise<OAuthResponse> {
  const { record } = await registrationAccessToken(s, req);
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
      app.post(REGISTRATION_PATH, (req, reply) => run(s, registerClient, req, reply));
      app.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: REGISTRATION_PATH, handler: notAllowed('POST') });
      const path = `${REGISTRATION_PATH}/:id`;
      app.get(path, (req, reply) => run(s, readRegistration, req, reply));
      app.put(path, (req, reply) => run(s, updateRegistration, req, reply));
      app.delete(path, (req, reply) => run(s, deleteRegistration, req, reply));
      app.route({ method: ['POST', 'PATCH', 'OPTIONS'], url: path, handler: notAllowed('GET, PUT, DELETE') });
    },
  };
}
