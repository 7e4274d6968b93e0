import { OAuthError } from '../shared/errors.js';
import { isValidScopeToken } from '../shared/scope.js';
import type { ClientService } from './clients.service.js';
import type { ClientMetadataInput } from './client-metadata.js';

/**
 * Migration in and out (issue #17 item 6): client documents of Latchkey (`clients export`), Keycloak
 * (a client representation, a list of them, or a realm export's `clients`) and Ory Hydra (a client,
 * a list, or `{items: [...]}`) turned into Latchkey client metadata. Client ids are kept; a given
 * secret is kept too (hashed on import, flagged `secret_imported` until rotated). A client that cannot
 * be represented (no client-credentials grant, public, bearer-only, unknown authenticator) is reported
 * and skipped as a whole — never half-imported.
 */
export type ImportFormat = 'latchkey' | 'keycloak' | 'hydra';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['latchkey', 'keycloak', 'hydra'];

/** The format marker of `latchkey clients export`. */
export const EXPORT_FORMAT = 'latchkey-clients';

export interface ImportCandidate {
  client_id: string;
  metadata: ClientMetadataInput & Record<string, unknown>;
  /** An existing secret to keep; never returned or logged. */
  secret?: string;
  /** What was dropped or changed on the way (e.g. other grant types, Keycloak built-in scopes). */
  notes: string[];
}

export interface ImportSkip {
  client_id: string | null;
  reason: string;
}

export interface ImportReport {
  format: ImportFormat;
  dry_run: boolean;
  imported: { client_id: string; token_endpoint_auth_method: string; secret_imported: boolean; client_secret?: string; notes: string[] }[];
  skipped: ImportSkip[];
}

/** An imported secret must be at least this long (shorter ones are guessable: reported, not imported). */
export const MIN_IMPORTED_SECRET = 16;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : typeof v === 'string' ? v.split(' ').filter(Boolean) : []);

function bad(message: string): OAuthError {
  return new OAuthError('invalid_request', message);
}

/** The client objects of a document and its format (`format` overrides detection). */
export function detectFormat(doc: unknown, format?: ImportFormat): { format: ImportFormat; items: unknown[] } {
  let items: unknown[];
  let marker: ImportFormat | undefined;
  if (Array.isArray(doc)) items = doc;
  else if (isObj(doc) && doc.format === EXPORT_FORMAT && Array.isArray(doc.clients)) {
    items = doc.clients;
    marker = 'latchkey';
  } else if (isObj(doc) && Array.isArray(doc.clients)) {
    items = doc.clients; // a Keycloak realm export (or a bare {clients: [...]})
  } else if (isObj(doc) && Array.isArray(doc.items)) {
    items = doc.items; // Hydra's list response
  } else if (isObj(doc)) items = [doc];
  else throw bad('the file must hold a JSON object or array of clients');
  if (format) return { format, items };
  if (marker) return { format: marker, items };
  const first = items.find(isObj);
  if (!first) throw bad('no clients found in the file');
  if ('clientId' in first) return { format: 'keycloak', items };
  if ('client_id' in first) {
    const latchkeyish = ['client_id_issued_at', 'access_token_format', 'client_secrets_active', 'default_scope', 'access_token_ttl', 'secret_imported'].some((k) => k in first);
    const hydraish = ['client_secret', 'grant_types', 'response_types', 'redirect_uris', 'access_token_strategy', 'skip_consent', 'owner', 'created_at'].some((k) => k in first);
    return { format: latchkeyish && !(hydraish && 'response_types' in first) ? 'latchkey' : 'hydra', items };
  }
  throw bad('unrecognised client format: expected Latchkey (client_id, from clients export), Keycloak (clientId) or Ory Hydra (client_id) clients');
}

/** Go durations as Hydra writes them ("1h0m0s", "90s", "1h30m"): whole seconds, or undefined. */
export function goDurationSeconds(v: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/.exec(v);
  if (!m || v === '') return undefined;
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return Number.isInteger(s) && s > 0 ? s : undefined;
}

/** Output-only members of a Latchkey client (show/export): not metadata. */
const LATCHKEY_OUTPUT_ONLY = ['client_id_issued_at', 'client_secret_expires_at', 'client_secrets_active', 'secret_imported', 'client_secret'];

function fromLatchkey(c: Obj): ImportCandidate | ImportSkip {
  const id = str(c.client_id);
  if (!id) return { client_id: null, reason: 'no client_id' };
  const metadata: Obj = {};
  for (const [k, v] of Object.entries(c)) if (!LATCHKEY_OUTPUT_ONLY.includes(k) && v !== null) metadata[k] = v;
  return { client_id: id, metadata: metadata, notes: [] };
}

/** Scopes every Keycloak realm attaches by default: OIDC/user-facing, meaningless to client credentials. */
const KEYCLOAK_BUILTIN_SCOPES = new Set(['web-origins', 'acr', 'profile', 'roles', 'email', 'basic', 'address', 'phone', 'offline_access', 'microprofile-jwt', 'organization', 'service_account']);

function fromKeycloak(c: Obj): ImportCandidate | ImportSkip {
  const id = str(c.clientId);
  if (!id) return { client_id: null, reason: 'no clientId' };
  if (c.publicClient === true) return { client_id: id, reason: 'public client (no credentials): Latchkey serves confidential clients only' };
  if (c.bearerOnly === true) return { client_id: id, reason: 'bearer-only client (a resource server that gets no tokens)' };
  if (c.serviceAccountsEnabled !== true) return { client_id: id, reason: 'service accounts (client credentials grant) not enabled: browser/authorization-code clients are not supported' };
  const attrs: Obj = isObj(c.attributes) ? c.attributes : {};
  const notes: string[] = [];
  const metadata: Obj = { client_id: id, client_name: str(c.name) && !/^\$\{/.test(str(c.name)!) ? c.name : id, grant_types: ['client_credentials'] };
  if (c.standardFlowEnabled === true || c.implicitFlowEnabled === true || c.directAccessGrantsEnabled === true) notes.push('only the client credentials grant is kept (browser flows dropped)');
  let secret: string | undefined;
  const authenticator = str(c.clientAuthenticatorType) ?? 'client-secret';
  const givenSecret = str(c.secret);
  const masked = givenSecret !== undefined && /^\*+$/.test(givenSecret);
  switch (authenticator) {
    case 'client-secret':
    case 'client-secret-jwt':
      metadata.token_endpoint_auth_method = authenticator === 'client-secret' ? 'client_secret_basic' : 'client_secret_jwt';
      if (givenSecret !== undefined && !masked) secret = givenSecret;
      else notes.push(masked ? 'the export masks the secret ("**********"): a new secret was generated' : 'no secret in the file: a new secret was generated');
      break;
    case 'client-jwt': {
      metadata.token_endpoint_auth_method = 'private_key_jwt';
      const url = str(attrs['jwks.url']);
      if (attrs['use.jwks.url'] === 'true' && url) metadata.jwks_uri = url;
      else return { client_id: id, reason: 'client-jwt with a certificate instead of a JWKS URL (set use.jwks.url and jwks.url, or import and register its keys with --jwks-file)' };
      break;
    }
    case 'client-x509': {
      const dn = str(attrs['x509.subjectdn']);
      if (!dn) return { client_id: id, reason: 'client-x509 without x509.subjectdn' };
      if (/^\(|[.*+?]/.test(dn)) return { client_id: id, reason: `client-x509 subject DN is a regular expression (${dn}); Latchkey matches one exact DN` };
      metadata.token_endpoint_auth_method = 'tls_client_auth';
      metadata.tls_client_auth_subject_dn = dn;
      break;
    }
    default:
      return { client_id: id, reason: `unsupported clientAuthenticatorType ${authenticator}` };
  }
  const ttl = str(attrs['access.token.lifespan']);
  if (ttl !== undefined) {
    const n = Number(ttl);
    if (Number.isInteger(n) && n > 0) metadata.access_token_ttl = n;
    else if (n !== -1) notes.push(`access.token.lifespan ${ttl} ignored`);
  }
  const keep = (list: string[]) => {
    const dropped = list.filter((s) => KEYCLOAK_BUILTIN_SCOPES.has(s) || !isValidScopeToken(s));
    if (dropped.length) notes.push(`Keycloak built-in or invalid scopes dropped: ${dropped.join(' ')}`);
    return list.filter((s) => !dropped.includes(s));
  };
  const defaults = keep(strList(c.defaultClientScopes));
  const optional = keep(strList(c.optionalClientScopes));
  metadata.scope = [...new Set([...defaults, ...optional])].join(' ');
  if (optional.length) metadata.default_scope = defaults.join(' ') || null;
  // Audience from "oidc-audience-mapper" protocol mappers with a custom (absolute URL) audience.
  const audience: string[] = [];
  for (const pm of Array.isArray(c.protocolMappers) ? c.protocolMappers : []) {
    if (!isObj(pm) || pm.protocolMapper !== 'oidc-audience-mapper' || !isObj(pm.config)) continue;
    const aud = str(pm.config['included.custom.audience']);
    if (aud && /^[a-z][a-z0-9+.-]*:\/\//i.test(aud)) audience.push(aud);
    else if (aud || pm.config['included.client.audience']) notes.push(`audience mapper ${str(pm.name) ?? ''} not imported (Latchkey audiences are absolute URIs)`);
  }
  if (audience.length) metadata.audience = audience;
  if (c.enabled === false) metadata.disabled = true;
  return { client_id: id, metadata: metadata, ...(secret !== undefined ? { secret } : {}), notes };
}

const HYDRA_METHODS: Record<string, string> = { client_secret_basic: 'client_secret_basic', client_secret_post: 'client_secret_post', private_key_jwt: 'private_key_jwt', client_secret_jwt: 'client_secret_jwt' };

function fromHydra(c: Obj): ImportCandidate | ImportSkip {
  const id = str(c.client_id);
  if (!id) return { client_id: null, reason: 'no client_id' };
  const grants = strList(c.grant_types);
  if (!grants.includes('client_credentials')) return { client_id: id, reason: `grant_types ${grants.join(' ') || '(default: authorization_code)'} lack client_credentials` };
  const method = str(c.token_endpoint_auth_method) ?? 'client_secret_basic';
  if (method === 'none') return { client_id: id, reason: 'public client (token_endpoint_auth_method none)' };
  const mapped = HYDRA_METHODS[method];
  if (!mapped) return { client_id: id, reason: `unsupported token_endpoint_auth_method ${method}` };
  const notes: string[] = [];
  if (grants.length > 1) notes.push(`only client_credentials kept of grant_types ${grants.join(' ')}`);
  const metadata: Obj = { client_id: id, client_name: str(c.client_name) ?? id, token_endpoint_auth_method: mapped, grant_types: ['client_credentials'], scope: strList(c.scope).join(' ') };
  const audience = strList(c.audience);
  if (audience.length) metadata.audience = audience;
  if (isObj(c.jwks) && Array.isArray(c.jwks.keys) && c.jwks.keys.length > 0) metadata.jwks = c.jwks;
  if (str(c.jwks_uri)) metadata.jwks_uri = c.jwks_uri;
  if (c.access_token_strategy === 'opaque' || c.access_token_strategy === 'jwt') metadata.access_token_format = c.access_token_strategy;
  const life = str(c.client_credentials_grant_access_token_lifespan);
  if (life !== undefined) {
    const s = goDurationSeconds(life);
    if (s !== undefined) metadata.access_token_ttl = s;
    else notes.push(`client_credentials_grant_access_token_lifespan ${life} ignored`);
  }
  let secret: string | undefined;
  if (mapped.startsWith('client_secret')) {
    secret = str(c.client_secret);
    if (secret === undefined) notes.push('no client_secret in the file: a new secret was generated');
  }
  return { client_id: id, metadata: metadata, ...(secret !== undefined ? { secret } : {}), notes };
}

/** The document's clients as candidates and skips (nothing checked against the store yet). */
export function parseClientImport(doc: unknown, format?: ImportFormat): { format: ImportFormat; candidates: ImportCandidate[]; skipped: ImportSkip[] } {
  const d = detectFormat(doc, format);
  const candidates: ImportCandidate[] = [];
  const skipped: ImportSkip[] = [];
  const convert = d.format === 'latchkey' ? fromLatchkey : d.format === 'keycloak' ? fromKeycloak : fromHydra;
  const seen = new Set<string>();
  for (const item of d.items) {
    if (!isObj(item)) {
      skipped.push({ client_id: null, reason: 'not a JSON object' });
      continue;
    }
    const r = convert(item);
    if ('reason' in r) skipped.push(r);
    else if (seen.has(r.client_id)) skipped.push({ client_id: r.client_id, reason: 'appears more than once in the file' });
    else {
      seen.add(r.client_id);
      if (r.secret !== undefined && r.secret.length < MIN_IMPORTED_SECRET) skipped.push({ client_id: r.client_id, reason: `secret shorter than ${MIN_IMPORTED_SECRET} characters (too weak to keep; import without it to get a new one)` });
      else candidates.push(r);
    }
  }
  return { format: d.format, candidates, skipped };
}

/**
 * Imports (or, with dryRun, checks) every client of the document through ClientService — the same
 * rules and audit records as `clients create`. Each client is one insert: all of it or none of it.
 * A generated secret (the file had none) is in the report once, like `clients create` prints it.
 */
export async function importClients(svc: ClientService, doc: unknown, actor: string, opts: { dryRun?: boolean; format?: ImportFormat } = {}): Promise<ImportReport> {
  const parsed = parseClientImport(doc, opts.format);
  const report: ImportReport = { format: parsed.format, dry_run: opts.dryRun === true, imported: [], skipped: [...parsed.skipped] };
  for (const c of parsed.candidates) {
    try {
      const made = await svc.create(c.metadata, actor, { ...(c.secret !== undefined ? { secret: c.secret, secretImported: true } : {}), dryRun: opts.dryRun === true });
      report.imported.push({
        client_id: c.client_id,
        token_endpoint_auth_method: String(made.token_endpoint_auth_method),
        secret_imported: c.secret !== undefined,
        ...(typeof made.client_secret === 'string' && !opts.dryRun ? { client_secret: made.client_secret } : {}),
        notes: c.notes,
      });
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      report.skipped.push({ client_id: c.client_id, reason: e.toJSON().error_description });
    }
  }
  if (report.imported.length && !opts.dryRun) {
    await svc.audit(actor, 'client.import', null, null, { format: report.format, imported: report.imported.map((i) => i.client_id), skipped: report.skipped.map((s) => s.client_id) });
  }
  return report;
}

/** `clients export`: every client as show prints it — never a secret, hash or sealed value. */
export async function exportClients(svc: ClientService): Promise<{ format: typeof EXPORT_FORMAT; version: 1; exported_at: string; clients: Record<string, unknown>[] }> {
  const out: Record<string, unknown>[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await svc.list({ limit: 500, offset });
    for (const c of page.clients) {
      const full = await svc.get(String(c.client_id));
      if (full) out.push(full);
    }
    if (page.clients.length < 500) break;
  }
  return { format: EXPORT_FORMAT, version: 1, exported_at: new Date().toISOString(), clients: out };
}
