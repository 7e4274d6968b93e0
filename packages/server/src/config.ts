import { readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { z } from 'zod';

/**
 * Configuration: flags > environment (LATCHKEY_*) > config file (JSON) > defaults.
 *
 * `settings` below is the ONE list of settings: each entry carries its environment variable, its
 * default, its zod type, its documentation line and (where `latchkey start` has one) its CLI flag.
 * The zod schema, the environment reader, the defaults and docs/configuration.md
 * (`npm run docs:config`, checked by test/config/config-doc.test.ts) are all derived from it.
 * Validated once at start-up, defaults filled in, frozen.
 *
 * This module is also the only place in src that reads `process.env` (see `environmentActor`).
 */

const intFromString = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(min).max(max));
const boolFromString = z.preprocess((v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean());
const alg = z.enum(['ES256', 'EdDSA', 'RS256', 'PS256']);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** One row of the settings table. `default` is what applies when no layer sets the value. */
export interface SettingSpec<T extends z.ZodType = z.ZodType> {
  /** Environment variable. */
  readonly env: `LATCHKEY_${string}`;
  /** Value used when no flag, variable or config-file key sets it (absent: the setting stays unset). */
  readonly default?: z.output<T>;
  /** How an unset setting is filled in when that is derived from other settings (docs only). */
  readonly derivedDefault?: string;
  /** zod type; accepts the string form too (environment variables and flags are strings). */
  readonly type: T;
  /** One line for docs/configuration.md. */
  readonly doc: string;
  /** `latchkey start` flag, where there is one. */
  readonly flag?: `--${string}`;
}

const setting = <T extends z.ZodType>(s: SettingSpec<T>): SettingSpec<T> => s;

export const settings = {
  port: setting({ env: 'LATCHKEY_PORT', flag: '--port', default: 8080, type: intFromString(0, 65535), doc: 'TCP port of the HTTP listener. 0 (any free port) needs an explicit issuer.' }),
  host: setting({ env: 'LATCHKEY_HOST', flag: '--host', default: '127.0.0.1', type: z.string().min(1), doc: 'Address to listen on. Use 0.0.0.0 behind a load balancer or in a container; a non-loopback host needs an explicit issuer.' }),
  opsPort: setting({ env: 'LATCHKEY_OPS_PORT', type: intFromString(0, 65535).optional(), doc: 'TCP port of a separate plain-HTTP operations listener serving /metrics, /healthz and /readyz. When set, /metrics is served only there (no longer on the public listener); /healthz and /readyz are served on both. Unset: all three on the public listener.' }),
  opsHost: setting({ env: 'LATCHKEY_OPS_HOST', default: '127.0.0.1', type: z.string().min(1), doc: 'Address of the operations listener (opsPort). Keep it loopback or an internal interface that only the scraper and probes reach.' }),
  issuer: setting({ env: 'LATCHKEY_ISSUER', flag: '--issuer', derivedDefault: 'http://HOST:PORT (https with tlsCert), loopback hosts only', type: z.string().url().optional(), doc: 'Issuer identifier (RFC 8414): the URL clients use to reach this server. Must be https:// except on loopback hosts. Required when host is not a loopback address or port is 0.' }),
  dataDir: setting({ env: 'LATCHKEY_DATA_DIR', flag: '--data-dir', default: './.latchkey', type: z.string().min(1), doc: 'Directory for the SQLite store and the key-encryption-key file.' }),
  db: setting({ env: 'LATCHKEY_DB', flag: '--db', derivedDefault: 'sqlite:DATA_DIR/latchkey.db', type: z.string().regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'must start with sqlite: or postgres://').optional(), doc: 'Store URL: sqlite:PATH or postgres://…' }),
  opaqueTokenCache: setting({ env: 'LATCHKEY_OPAQUE_TOKEN_CACHE', default: 20_000, type: intFromString(0, 10_000_000), doc: 'Opaque access tokens each process keeps in memory for introspection (about 430 bytes each; two generations, so an entry in use stays). 0 turns the cache off: every introspection reads the store. Revocations reach other processes through the change feed (docs/decisions.md).' }),
  sqliteCacheMb: setting({ env: 'LATCHKEY_SQLITE_CACHE_MB', default: 4, type: intFromString(1, 65_536), doc: 'SQLite page cache per process, in MiB (PRAGMA cache_size). Resident memory grows by up to this much as the cache fills, then stays flat. Raise it when many opaque tokens are live.' }),
  redis: setting({ env: 'LATCHKEY_REDIS', flag: '--redis', type: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(), doc: 'Redis URL for shared rate limits, single-use jti caches and change notifications (optional).' }),
  kek: setting({ env: 'LATCHKEY_KEK', derivedDefault: 'generated into DATA_DIR/kek (mode 0600)', type: z.string().optional(), doc: 'Key-encryption key: 32 bytes as base64url/base64/hex. All nodes sharing a database must share it.' }),
  logLevel: setting({ env: 'LATCHKEY_LOG_LEVEL', flag: '--log-level', default: 'info', type: logLevel, doc: 'pino log level: fatal, error, warn, info, debug, trace, silent.' }),
  signingAlg: setting({ env: 'LATCHKEY_SIGNING_ALG', default: 'ES256', type: alg, doc: 'Algorithm of newly generated signing keys: ES256, EdDSA, RS256, PS256.' }),
  defaultAudience: setting({ env: 'LATCHKEY_DEFAULT_AUDIENCE', derivedDefault: 'the issuer', type: z.string().url().optional(), doc: 'Audience of tokens for clients with an empty audience list and no resource parameter.' }),
  accessTokenTtl: setting({ env: 'LATCHKEY_ACCESS_TOKEN_TTL', default: 3600, type: intFromString(1, 31_536_000), doc: 'Default access token lifetime in seconds (per-client access_token_ttl overrides). At most maxAccessTokenTtl.' }),
  maxAccessTokenTtl: setting({ env: 'LATCHKEY_MAX_ACCESS_TOKEN_TTL', default: 86400, type: intFromString(1, 31_536_000), doc: 'Upper bound for any client access_token_ttl, in seconds.' }),
  registrationAccessTokenTtl: setting({ env: 'LATCHKEY_REGISTRATION_ACCESS_TOKEN_TTL', default: 7_776_000, type: intFromString(60, 31_536_000), doc: 'Lifetime in seconds of an RFC 7592 registration access token (a new one is issued on every update). Default 90 days.' }),
  keyRotationPeriod: setting({ env: 'LATCHKEY_KEY_ROTATION_PERIOD', default: 0, type: intFromString(0, 31_536_000), doc: 'Automatic signing-key rotation period in seconds; 0 disables scheduled rotation.' }),
  keyPrePublish: setting({ env: 'LATCHKEY_KEY_PREPUBLISH', default: 600, type: intFromString(0, 31_536_000), doc: 'Seconds a new signing key is published in the JWKS before it signs anything.' }),
  maintenanceInterval: setting({ env: 'LATCHKEY_MAINTENANCE_INTERVAL', default: 60, type: intFromString(1, 86_400), doc: 'Seconds between background passes: scheduled key rotation check, clean-up of expired opaque tokens, revocations, single-use values, secrets and keys (one node per pass does the clean-up).' }),
  changePollInterval: setting({ env: 'LATCHKEY_CHANGE_POLL_MS', default: 250, type: intFromString(10, 60_000), doc: 'How often (ms) a node polls the store change feed; bounds propagation delay of CLI/admin changes.' }),
  allowTokenEndpointAudience: setting({ env: 'LATCHKEY_ALLOW_TOKEN_ENDPOINT_AUDIENCE', default: false, type: boolFromString, doc: 'Legacy: also accept the token endpoint URL as a client assertion aud (off: only the issuer, per draft-ietf-oauth-rfc7523bis).' }),
  rateLimitFailures: setting({ env: 'LATCHKEY_RATE_LIMIT_FAILURES', default: 20, type: intFromString(1, 1_000_000), doc: 'Failed client authentications allowed per window per (address, client id), and per address for unknown client ids, before 429 too_many_requests; the per-client-id budget (all addresses) is 5 times this. Correct credentials for a known client are never refused because of failures by others.' }),
  rateLimitWindow: setting({ env: 'LATCHKEY_RATE_LIMIT_WINDOW', default: 60, type: intFromString(1, 86_400), doc: 'Window in seconds for the failed-authentication limits.' }),
  trustProxy: setting({ env: 'LATCHKEY_TRUST_PROXY', type: z.string().optional(), doc: 'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For (and client-certificate header) are trusted. Name the proxies themselves: a range (a CIDR wider than one address, or loopback/linklocal/uniquelocal) gets a start-up warning, since every host in it can choose the client address the failed-authentication limits count.' }),
  workers: setting({ env: 'LATCHKEY_WORKERS', flag: '--workers', default: 1, derivedDefault: '`latchkey start`: the number of CPUs', type: intFromString(1, 256), doc: 'Worker processes sharing the port.' }),
  storeOutageGrace: setting({ env: 'LATCHKEY_STORE_OUTAGE_GRACE', default: 300, type: intFromString(0, 86_400), doc: 'Seconds a node keeps issuing JWTs for cached clients while the store is unreachable (client changes made meanwhile cannot reach it); after that, token requests get 503. 0 = refuse at once.' }),
  tlsCert: setting({ env: 'LATCHKEY_TLS_CERT', flag: '--tls-cert', type: z.string().min(1).optional(), doc: 'PEM file of the server certificate (chain): serve HTTPS. Enables mutual TLS client authentication (RFC 8705). Needs tlsKey.' }),
  tlsKey: setting({ env: 'LATCHKEY_TLS_KEY', flag: '--tls-key', type: z.string().min(1).optional(), doc: 'PEM file of the private key of tlsCert.' }),
  tlsCa: setting({ env: 'LATCHKEY_TLS_CA', flag: '--tls-ca', type: z.string().min(1).optional(), doc: 'PEM file of the CA certificate(s) that issue client certificates for tls_client_auth. Without it only self_signed_tls_client_auth is possible.' }),
  tlsClientCertHeader: setting({ env: 'LATCHKEY_TLS_CLIENT_CERT_HEADER', type: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name').optional(), doc: 'Header carrying the client certificate from a TLS-terminating proxy (RFC 9440 Client-Cert, or URL-encoded PEM as nginx $ssl_client_escaped_cert). Read only from the peers in trustProxy.' }),
  clockSkew: setting({ env: 'LATCHKEY_CLOCK_SKEW', default: 30, type: intFromString(0, 600), doc: 'Seconds of clock difference tolerated on client assertion and DPoP proof times (exp, nbf, iat).' }),
  assertionMaxLifetime: setting({ env: 'LATCHKEY_ASSERTION_MAX_LIFETIME', default: 3600, type: intFromString(1, 86_400), doc: 'Longest accepted client assertion lifetime (exp - now, and exp - iat) in seconds.' }),
  dpopProofMaxAge: setting({ env: 'LATCHKEY_DPOP_PROOF_MAX_AGE', default: 60, type: intFromString(1, 3600), doc: 'Oldest accepted DPoP proof (now - iat) in seconds, plus clockSkew (RFC 9449 §4.3).' }),
  dpopNonce: setting({ env: 'LATCHKEY_DPOP_NONCE', default: false, type: boolFromString, doc: 'Require server-provided DPoP nonces at the token endpoint (RFC 9449 §8).' }),
  jwksFetchTimeout: setting({ env: 'LATCHKEY_JWKS_FETCH_TIMEOUT_MS', default: 3000, type: intFromString(100, 60_000), doc: 'Timeout (ms) for fetching a client jwks_uri.' }),
  jwksMaxBytes: setting({ env: 'LATCHKEY_JWKS_MAX_BYTES', default: 65536, type: intFromString(1024, 10_485_760), doc: 'Largest accepted client jwks_uri document, in bytes.' }),
  jwksCacheTtl: setting({ env: 'LATCHKEY_JWKS_CACHE_TTL', default: 300, type: intFromString(1, 86_400), doc: 'Seconds a fetched client JWKS is used before it is fetched again.' }),
  jwksRefreshCooldown: setting({ env: 'LATCHKEY_JWKS_REFRESH_COOLDOWN', default: 30, type: intFromString(0, 3600), doc: 'Minimum seconds between two fetches of one client jwks_uri (unknown kid, failures).' }),
  outboundAllow: setting({ env: 'LATCHKEY_OUTBOUND_ALLOW', default: [], type: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v), z.array(z.string().min(1).max(253).regex(/^[A-Za-z0-9.:*_\/-]+$/, 'must be CIDRs, IP addresses or host names')).max(200)), doc: 'Comma-separated CIDRs, addresses or host names (`*.corp.example`) that outbound fetches (client jwks_uri, trusted issuers) may reach although they are internal (loopback, RFC 1918, ULA, link-local, CGNAT). Empty: only public addresses.' }),
  bootstrapAdminId: setting({ env: 'LATCHKEY_BOOTSTRAP_ADMIN_ID', type: z.string().regex(/^[A-Za-z0-9._:][A-Za-z0-9._:-]{2,127}$/, 'must match [A-Za-z0-9._:-]{3,128} and not start with "-"').optional(), doc: 'First start only (empty store): client_id of the admin client to create instead of a generated one. Ignored once the store holds a signing key.' }),
  bootstrapAdminSecret: setting({ env: 'LATCHKEY_BOOTSTRAP_ADMIN_SECRET', type: z.string().min(32, 'must be at least 32 characters').max(512).optional(), doc: 'First start only: the admin client secret to preset (hashed like any other, never printed). Prefer bootstrapAdminSecretFile. Needs bootstrapAdminId.' }),
  bootstrapAdminSecretFile: setting({ env: 'LATCHKEY_BOOTSTRAP_ADMIN_SECRET_FILE', type: z.string().min(1).optional(), doc: 'First start only: file holding the admin client secret (e.g. a mounted Kubernetes Secret); surrounding whitespace is ignored. Needs bootstrapAdminId.' }),
  consoleDir: setting({ env: 'LATCHKEY_CONSOLE_DIR', derivedDefault: 'the console built into the package', type: z.string().min(1).optional(), doc: 'Directory of a built web console (index.html, assets/) to serve at / instead of the bundled one.' }),
} as const;

export type SettingName = keyof typeof settings;

/** Environment variable naming a JSON config file (the `--config FILE` flag wins over it). */
export const CONFIG_FILE_ENV = 'LATCHKEY_CONFIG';

type Shape = { [K in SettingName]: (typeof settings)[K]['type'] };
export const configSchema = z
  .object(Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.type])) as Shape)
  .strict();

export type ConfigInput = Partial<{ [K in SettingName]: unknown }>;
export type Config = Readonly<z.infer<typeof configSchema> & { issuer: string; db: string; defaultAudience: string }>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** How a setting is named in messages: `"port" (LATCHKEY_PORT / --port)`. */
export function describeSetting(name: string): string {
  const s = (settings as Record<string, SettingSpec>)[name];
  if (!s) return `"${name}"`;
  return `"${name}" (${s.env}${s.flag ? ` / ${s.flag}` : ''})`;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/** A listen address (bare IPv6 allowed) that only this machine can reach. */
function isLoopbackListenHost(host: string): boolean {
  return host === '::1' || isLoopbackHost(host);
}

/** RFC 8414 §2: the issuer is an https URL with no query or fragment; plain http only on loopback (development). */
export function validateIssuer(issuer: string): string {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new ConfigError(`issuer: not a URL: ${issuer}`);
  }
  if (u.search || u.hash) throw new ConfigError('issuer: must not contain a query or fragment (RFC 8414 §2)');
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new ConfigError(`issuer: must use https:// (http:// is allowed only on loopback hosts): ${issuer}`);
  }
  // Canonical form without a trailing slash for the root path.
  return u.pathname === '/' ? u.origin : u.origin + u.pathname.replace(/\/$/, '');
}

/**
 * The issuer when none is configured: only derivable for a loopback listener on a fixed port.
 * - A non-loopback host (0.0.0.0 in a container, a LAN address) is reached under a name this
 *   process cannot know, so it must be configured (SPEC: refuse to start otherwise).
 * - Port 0 binds a free port at listen time; an issuer `…:0` would be wrong in every token.
 *   NOTE for the start-up code (H4 / issue #17 item 3): config refuses this case. If `start` learns to
 *   fill the issuer from the bound port, it should pass that issuer explicitly, not relax this rule.
 */
function defaultIssuer(c: { host: string; port: number; tlsCert?: string | undefined }): string {
  const issuerName = describeSetting('issuer');
  if (!isLoopbackListenHost(c.host)) {
    throw new ConfigError(`invalid setting ${issuerName}: required because host ${c.host} is not a loopback address (set the public https:// URL clients use to reach this server)`);
  }
  if (c.port === 0) {
    throw new ConfigError(`invalid setting ${issuerName}: required with port 0 (the port is chosen at listen time, so it cannot be part of a default issuer)`);
  }
  return `${c.tlsCert ? 'https' : 'http'}://${c.host.includes(':') && !c.host.startsWith('[') ? `[${c.host}]` : c.host}:${c.port}`;
}

function readConfigFile(path: string): Record<string, unknown> {
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`config file ${path}: ${(e as Error).message}`);
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new ConfigError(`config file ${path}: must be a JSON object`);
  const obj = file as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!Object.hasOwn(settings, key)) throw new ConfigError(`config file ${path}: unknown setting "${key}"`);
  }
  return obj;
}

/**
 * Merge the layers, validate, fill defaults, freeze. Throws ConfigError naming the bad setting.
 * `defaults` replaces table defaults for one caller (e.g. `latchkey start`: workers = CPU count); it is
 * still the lowest layer, so the config file, the environment and flags all win over it.
 */
export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env, configFile?: string, defaults: ConfigInput = {}): Config {
  const path = configFile ?? env[CONFIG_FILE_ENV];
  const file = path ? readConfigFile(path) : {};
  const merged: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [SettingName, SettingSpec][]) {
    const fromEnv = env[s.env];
    const v = flags[key] ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ?? file[key] ?? defaults[key] ?? s.default;
    if (v !== undefined) merged[key] = v;
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? '?');
    const envName = (settings as Record<string, SettingSpec>)[name]?.env;
    throw new ConfigError(`invalid setting "${name}"${envName ? ` (${envName})` : ''}: ${issue.message}`);
  }
  const c = parsed.data;
  const issuer = validateIssuer(c.issuer ?? defaultIssuer(c));
  if (c.maxAccessTokenTtl < c.accessTokenTtl) throw new ConfigError('invalid setting "accessTokenTtl": exceeds maxAccessTokenTtl');
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) throw new ConfigError('invalid setting "tlsKey": tlsCert and tlsKey go together');
  if (c.tlsCa && !c.tlsCert && !c.tlsClientCertHeader) throw new ConfigError('invalid setting "tlsCa": needs a TLS listener (tlsCert, tlsKey) or tlsClientCertHeader');
  if (c.tlsClientCertHeader && !c.trustProxy) throw new ConfigError('invalid setting "tlsClientCertHeader": needs trustProxy (the proxies allowed to send it)');
  if (c.bootstrapAdminSecret !== undefined && c.bootstrapAdminSecretFile !== undefined) throw new ConfigError('invalid setting "bootstrapAdminSecretFile": set bootstrapAdminSecret or bootstrapAdminSecretFile, not both');
  if ((c.bootstrapAdminSecret !== undefined || c.bootstrapAdminSecretFile !== undefined) && c.bootstrapAdminId === undefined) throw new ConfigError('invalid setting "bootstrapAdminId" (LATCHKEY_BOOTSTRAP_ADMIN_ID): required with a bootstrap admin secret');
  const dataDir = resolve(c.dataDir);
  return Object.freeze({
    ...c,
    dataDir,
    issuer,
    db: c.db ?? `sqlite:${join(dataDir, 'latchkey.db')}`,
    defaultAudience: c.defaultAudience ?? issuer,
  });
}

/** Who runs a CLI command, for audit entries: `cli:<login name>` from USER / LOGNAME. */
export function environmentActor(env: NodeJS.ProcessEnv = process.env): string {
  return `cli:${env.USER || env.LOGNAME || 'unknown'}`;
}

/**
 * Whether a failing CLI command may print the details it withholds (stack, SQL): only when the operator asked with
 * LATCHKEY_LOG_LEVEL=debug or trace. Read from the environment because it is needed before any config is loaded.
 */
export function showInternalDetails(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[settings.logLevel.env] === 'debug' || env[settings.logLevel.env] === 'trace';
}
