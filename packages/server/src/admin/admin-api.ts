import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { OAuthError, errSummary, isUnexpected, methodNotAllowed, toResponse } from '../shared/errors.js';
import type { Keyring } from '../keys/keyring.js';
import type { ClientService } from '../management/clients.service.js';
import type { Store } from '../store/store.js';
import { describeZodError } from '../management/client-metadata.js';
import { exportClients, importClients, IMPORT_FORMATS } from '../management/client-import.js';

const importQuery = z.object({ dry_run: z.enum(['true', 'false']).optional(), format: z.enum(IMPORT_FORMATS as ['latchkey', 'keycloak', 'hydra']).optional() });
import { ADMIN_SCOPE } from '../shared/scope.js';
import type { AdminAuthenticator, AdminPrincipal } from './admin-auth.js';
import { openApiDocument } from './openapi.js';
import { createRegistrationToken, deleteRegistrationToken, publicRegistrationToken } from '../management/registration-tokens.js';
import type { TrustedIssuerService } from '../management/trusted-issuers.service.js';

export const ADMIN_PREFIX = '/admin/v1';

/**
 * Requests the console makes on behalf of a signed-in admin carry a per-process mark (made by the
 * composition root, handed to the admin API and the console) in this header, so the audit log can say
 * "console:" rather than "admin:". It only relabels the actor; authorization is the token.
 */
export const CONSOLE_MARK_HEADER = 'x-latchkey-console';

/** A 400 naming the offending field: `{error, error_description: "<field>: <message>", field}`. */
export class FieldError extends OAuthError {
  declare readonly field: string;
  constructor(field: string, message: string) {
    super('invalid_request', `${field}: ${message}`, { field });
  }
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function sendJson(reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) {
  return reply
    .code(status)
    .headers({ 'content-type': 'application/json; charset=utf-8', ...NO_STORE, ...headers })
    .send(body === undefined ? '' : JSON.stringify(body));
}

/** Any error as the admin API's JSON error (shared/errors.ts toResponse); unexpected ones are logged. */
function sendAdminError(reply: FastifyReply, log: Logger, e: unknown) {
  if (isUnexpected(e)) log.error({ err: errSummary(e), stack: (e as Error)?.stack }, 'admin API error');
  else if (e instanceof OAuthError && e.detail) log.debug({ error: e.error, detail: e.detail }, 'admin request refused');
  const r = toResponse(e);
  return reply.code(r.status).headers(r.headers).send(r.body);
}

function parseWith<T extends z.ZodType>(schema: T, input: unknown, where: 'query' | 'body'): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) {
    const { field, message } = describeZodError(r.error);
    throw new FieldError(field === '(body)' ? where : field, message);
  }
  return r.data;
}

/** Write routes take a JSON object (or nothing). */
function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null || b === '') return {};
  if (typeof b === 'string') throw new FieldError('body', 'must be a JSON object sent as application/json');
  if (typeof b !== 'object' || Array.isArray(b)) throw new FieldError('body', 'must be a JSON object');
  return b as Record<string, unknown>;
}

const intParam = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v), z.number({ error: 'must be an integer' }).int().min(min).max(max));

const listQuery = z.object({ limit: intParam(1, 500).default(50), offset: intParam(0, 1_000_000_000).default(0), search: z.string().max(200).optional() });
const rotateBody = z.object({ grace_seconds: z.number().int().min(0).max(30 * 86_400).optional(), expires_in: z.number().int().min(1).max(10 * 31_536_000).optional() }).strict();
const keysRotateBody = z.object({ alg: z.enum(['ES256', 'EdDSA', 'RS256', 'PS256']).optional(), prepublish_seconds: z.number().int().min(0).max(31_536_000).optional() }).strict();
const auditQuery = z.object({
  since: z
    .string()
    .max(64)
    .refine((v) => !Number.isNaN(Date.parse(v)) || /^\d+$/.test(v), 'must be an ISO 8601 time or epoch milliseconds')
    .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)))
    .optional(),
  client: z.string().max(128).optional(),
  limit: intParam(1, 1000).default(100),
});
const idParam = z.string().min(1).max(256);

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

type Handler = (req: FastifyRequest, p: AdminPrincipal, actor: string) => Promise<{ status: number; body?: unknown; headers?: Record<string, string> }>;

/**
 * The `/admin/v1` JSON API (SPEC §3). Every route but the OpenAPI document requires a Bearer token
 * from this server with scope `latchkey:admin` (see admin-auth.ts). All client changes go through
 * ClientService — the one set of rules shared with the CLI, the console and RFC 7591 registration —
 * which also writes the audit log. Registered as an encapsulated plugin: its hooks never run for
 * the token endpoint.
 */
export interface AdminApiDeps {
  readonly issuer: string;
  /** Audience of tokens of clients with an empty audience list (config defaultAudience; default: the issuer). */
  readonly defaultAudience?: string | undefined;
  readonly adminAuth: AdminAuthenticator;
  readonly clients: ClientService;
  readonly keyring: Pick<Keyring, 'list' | 'rotate' | 'state'>;
  readonly store: Store;
  readonly log: Logger;
  /** The console's per-process mark (see CONSOLE_MARK_HEADER). */
  readonly consoleMark: string;
  /** Trusted issuers of federated clients (SPEC §9). */
  readonly trustedIssuers: TrustedIssuerService;
}

/**
 * Self-lockout guard (issue #14): the caller's own admin client must keep working for the caller. A
 * change to it is refused (400 naming the field, like the delete/disable guards) when it would disable
 * it, drop `latchkey:admin` from its scope, or change its audience so that a token requested without a
 * `resource` (the console's and the CLI's sign-in) no longer names the issuer — tokens get the first
 * audience, or the default audience when the list is empty. Unchanged values always pass.
 */
async function refuseSelfLockout(s: AdminApiDeps, clientId: string, body: Record<string, unknown>): Promise<void> {
  if (body.disabled === true) throw new FieldError('disabled', 'an admin client cannot disable itself');
  const current = await s.store.getClient(clientId);
  if (!current) return;
  if (typeof body.scope === 'string') {
    const next = new Set(body.scope.split(' ').filter(Boolean));
    if (!next.has(ADMIN_SCOPE)) throw new FieldError('scope', `removing ${ADMIN_SCOPE} from the client you are signed in as would lock you out; use another admin client`);
  }
  if (Array.isArray(body.audience) && JSON.stringify(body.audience) !== JSON.stringify(current.audience)) {
    const list: unknown[] = body.audience;
    const first = list.length > 0 ? list[0] : (s.defaultAudience ?? s.issuer);
    if (first !== s.issuer) {
      throw new FieldError('audience', `the client you are signed in as must keep the issuer (${s.issuer}) as its first audience, or its tokens no longer open the admin API; use another admin client`);
    }
  }
}

export function adminApiFeature(s: AdminApiDeps): { readonly name: string; readonly plugin: FastifyPluginAsync } {
  return { name: 'admin-api', plugin: (app) => installAdminApi(app, s) };
}

async function installAdminApi(app: Parameters<FastifyPluginAsync>[0], s: AdminApiDeps): Promise<void> {
  const clients = s.clients;
  const doc = JSON.stringify(openApiDocument(s.issuer));
  app.get(`${ADMIN_PREFIX}/openapi.json`, (_req, reply) =>
    reply.code(200).headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' }).send(doc),
  );

  await app.register(
    async (admin) => {
      const routes = new Map<string, Set<string>>();
      const route = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, handler: Handler) => {
        let m = routes.get(url);
        if (!m) routes.set(url, (m = new Set()));
        m.add(method);
        admin.route({
          method,
          url,
          handler: async (req, reply) => {
            try {
              const p = await s.adminAuth.authenticate(req.headers.authorization, req.headers.dpop);
              const via = req.headers[CONSOLE_MARK_HEADER] === s.consoleMark ? 'console' : 'admin';
              const r = await handler(req, p, `${via}:${p.clientId}`);
              return sendJson(reply, r.status, r.body, r.headers);
            } catch (e) {
              return sendAdminError(reply, s.log, e);
            }
          },
        });
      };
      const id = (req: FastifyRequest) => parseWith(idParam, (req.params as { id?: string }).id, 'query');

      route('GET', '/clients', async (req) => {
        const q = parseWith(listQuery, req.query, 'query');
        const r = await clients.list({ limit: q.limit, offset: q.offset, search: q.search || undefined });
        // The list is built without reading each client's secrets, so its secret fields would read 0:
        // leave them out (GET /clients/{id} has them).
        const items = r.clients.map(({ client_secrets_active: _a, client_secret_expires_at: _e, ...c }) => c);
        return { status: 200, body: { clients: items, total: r.total, limit: q.limit, offset: q.offset } };
      });
      // Migration in and out (issue #17 item 6). Static paths: they win over /clients/:id.
      route('POST', '/clients/import', async (req, _p, actor) => {
        const q = parseWith(importQuery, req.query, 'query');
        const b = req.body;
        if (b === undefined || b === null || typeof b !== 'object') throw new FieldError('body', 'must be a JSON document of clients sent as application/json');
        return { status: 200, body: await importClients(clients, b, actor, { dryRun: q.dry_run === 'true', ...(q.format ? { format: q.format } : {}) }) };
      });
      route('GET', '/clients/export', async () => ({ status: 200, body: await exportClients(clients) }));
      route('POST', '/clients', async (req, _p, actor) => {
        const created = await clients.create(jsonBody(req), actor);
        return { status: 201, body: created, headers: { location: `${ADMIN_PREFIX}/clients/${encodeURIComponent(created.client_id as string)}` } };
      });
      route('GET', '/clients/:id', async (req) => {
        const c = await clients.get(id(req));
        if (!c) throw new OAuthError('not_found', 'no such client');
        return { status: 200, body: c };
      });
      route('PATCH', '/clients/:id', async (req, p, actor) => {
        const cid = id(req);
        const body = jsonBody(req);
        if (cid === p.clientId) await refuseSelfLockout(s, cid, body);
        return { status: 200, body: await clients.update(cid, body, actor) };
      });
      route('DELETE', '/clients/:id', async (req, p, actor) => {
        const cid = id(req);
        // Deleting the client you are signed in as would lock the caller out mid-session; refuse it here.
        if (cid === p.clientId) throw new FieldError('client_id', 'an admin client cannot delete itself');
        await clients.delete(cid, actor);
        return { status: 204 };
      });
      for (const [name, disabled] of [
        ['disable', true],
        ['enable', false],
      ] as const) {
        route('POST', `/clients/:id/${name}`, async (req, p, actor) => {
          const cid = id(req);
          jsonBody(req);
          if (disabled && cid === p.clientId) throw new FieldError('client_id', 'an admin client cannot disable itself');
          await clients.setDisabled(cid, disabled, actor);
          // Read back with the secrets so client_secrets_active / client_secret_expires_at are right.
          return { status: 200, body: await clients.get(cid) };
        });
      }
      route('POST', '/clients/:id/rotate-secret', async (req, _p, actor) => {
        const b = parseWith(rotateBody, jsonBody(req), 'body');
        return { status: 200, body: await clients.rotateSecret(id(req), actor, { graceSeconds: b.grace_seconds, expiresIn: b.expires_in }) };
      });

      route('GET', '/keys', async () => ({
        status: 200,
        body: {
          keys: s.keyring.list().map((k) => ({
            kid: k.kid,
            alg: k.alg,
            state: k.state,
            public_jwk: { ...k.public_jwk, kid: k.kid, alg: k.alg, use: 'sig' },
            created_at: iso(k.created_at),
            publish_at: iso(k.publish_at),
            activate_at: iso(k.activate_at),
            retired_at: iso(k.retired_at),
            expires_at: iso(k.expires_at),
          })),
        },
      }));
      route('POST', '/keys/rotate', async (req, _p, actor) => {
        const b = parseWith(keysRotateBody, jsonBody(req), 'body');
        const rec = await s.keyring.rotate({ alg: b.alg, prePublishSeconds: b.prepublish_seconds });
        await s.store.addAudit({ at: Date.now(), actor, action: 'key.rotate', target: rec.kid, before: null, after: { kid: rec.kid, alg: rec.alg, activate_at: rec.activate_at } });
        return {
          status: 201,
          body: { kid: rec.kid, alg: rec.alg, state: s.keyring.state(rec), publish_at: iso(rec.publish_at), activate_at: iso(rec.activate_at) },
        };
      });

      route('GET', '/audit', async (req) => {
        const q = parseWith(auditQuery, req.query, 'query');
        const recs = await s.store.queryAudit({ since: q.since, target: q.client, limit: q.limit });
        return { status: 200, body: { records: recs.map((r) => ({ ...r, at: iso(r.at) })) } };
      });

      route('GET', '/registration-tokens', async () => ({
        status: 200,
        body: { registration_tokens: (await s.store.listRegistrationTokens()).map((r) => publicRegistrationToken(r)) },
      }));
      route('POST', '/registration-tokens', async (req, _p, actor) => {
        return { status: 201, body: await createRegistrationToken(s.store, jsonBody(req), actor) };
      });
      route('DELETE', '/registration-tokens/:id', async (req, _p, actor) => {
        await deleteRegistrationToken(s.store, id(req), actor);
        return { status: 204 };
      });

      route('GET', '/trusted-issuers', async () => ({ status: 200, body: { trusted_issuers: await s.trustedIssuers.list() } }));
      route('POST', '/trusted-issuers', async (req, _p, actor) => {
        const created = await s.trustedIssuers.add(jsonBody(req), actor);
        return { status: 201, body: created, headers: { location: `${ADMIN_PREFIX}/trusted-issuers/${encodeURIComponent(created.name as string)}` } };
      });
      route('GET', '/trusted-issuers/:id', async (req) => {
        const t = await s.trustedIssuers.get(id(req));
        if (!t) throw new OAuthError('not_found', 'no such trusted issuer');
        return { status: 200, body: t };
      });
      route('PATCH', '/trusted-issuers/:id', async (req, _p, actor) => ({ status: 200, body: await s.trustedIssuers.update(id(req), jsonBody(req), actor) }));
      route('DELETE', '/trusted-issuers/:id', async (req, _p, actor) => {
        await s.trustedIssuers.remove(id(req), actor);
        return { status: 204 };
      });

      // Known paths answer other methods with 405 + Allow (RFC 9110 §15.5.6) rather than 404.
      for (const [url, methods] of routes) {
        const allow = [...methods].join(', ');
        const others = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter((m) => !methods.has(m));
        if (others.length === 0) continue;
        admin.route({
          method: [...others],
          url,
          handler: (_req, reply) => sendAdminError(reply, s.log, methodNotAllowed(allow)),
        });
      }
    },
    { prefix: ADMIN_PREFIX },
  );
}
