import { readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { z } from 'zod';

/**
 * Configuration: flags > environment (LATCHKEY_*) > config file (JSON) > defaults.
 * Validated once at start-up, defaults filled in, deep-frozen. Every setting is documented
 * in `settings` below, which also generates docs/configuration.md (`npm run docs:config`).
 */
export const settings = {
  port: { env: 'LATCHKEY_PORT', default: 8080, doc: 'TCP port of the HTTP listener.' },
  host: { env: 'LATCHKEY_HOST', default: '127.0.0.1', doc: 'Address to listen on. Use 0.0.0.0 behind a load balancer.' },
  issuer: { env: 'LATCHKEY_ISSUER', default: undefined, doc: 'Issuer identifier (RFC 8414). Must be https:// except on loopback hosts. Default: http://HOST:PORT.' },
  dataDir: { env: 'LATCHKEY_DATA_DIR', default: './.latchkey', doc: 'Directory for the SQLite store and the key-encryption-key file.' },
  db: { env: 'LATCHKEY_DB', default: undefined, doc: 'Store URL: sqlite:PATH or postgres://…  Default: sqlite:DATA_DIR/latchkey.db.' },
  sqliteCacheMb: { env: 'LATCHKEY_SQLITE_CACHE_MB', default: 4, doc: 'SQLite page cache per process, in MiB (PRAGMA cache_size). Resident memory grows by up to this much as the cache fills, then stays flat. Raise it when many opaque tokens are live.' },
  redis: { env: 'LATCHKEY_REDIS', default: undefined, doc: 'Redis URL for shared rate limits, single-use jti caches and change notifications (optional).' },
  kek: { env: 'LATCHKEY_KEK', default: undefined, doc: 'Key-encryption key: 32 bytes as base64url/base64/hex. Default: generated into DATA_DIR/kek (mode 0600). All nodes sharing a database must share it.' },
  logLevel: { env: 'LATCHKEY_LOG_LEVEL', default: 'info', doc: 'pino log level: fatal, error, warn, info, debug, trace, silent.' },
  signingAlg: { env: 'LATCHKEY_SIGNING_ALG', default: 'ES256', doc: 'Algorithm of newly generated signing keys: ES256, EdDSA, RS256, PS256.' },
  defaultAudience: { env: 'LATCHKEY_DEFAULT_AUDIENCE', default: undefined, doc: 'Audience of tokens for clients with an empty audience list and no resource parameter. Default: the issuer.' },
  accessTokenTtl: { env: 'LATCHKEY_ACCESS_TOKEN_TTL', default: 3600, doc: 'Default access token lifetime in seconds (per-client access_token_ttl overrides).' },
  maxAccessTokenTtl: { env: 'LATCHKEY_MAX_ACCESS_TOKEN_TTL', default: 86400, doc: 'Upper bound for any client access_token_ttl, in seconds.' },
  keyRotationPeriod: { env: 'LATCHKEY_KEY_ROTATION_PERIOD', default: 0, doc: 'Automatic signing-key rotation period in seconds; 0 disables scheduled rotation.' },
  keyPrePublish: { env: 'LATCHKEY_KEY_PREPUBLISH', default: 600, doc: 'Seconds a new signing key is published in the JWKS before it signs anything.' },
  maintenanceInterval: { env: 'LATCHKEY_MAINTENANCE_INTERVAL', default: 60, doc: 'Seconds between background passes: scheduled key rotation check, clean-up of expired opaque tokens, revocations, single-use values, secrets and keys (one node per pass does the clean-up).' },
  changePollInterval: { env: 'LATCHKEY_CHANGE_POLL_MS', default: 250, doc: 'How often (ms) a node polls the store change feed; bounds propagation delay of CLI/admin changes.' },
  allowTokenEndpointAudience: { env: 'LATCHKEY_ALLOW_TOKEN_ENDPOINT_AUDIENCE', default: false, doc: 'Legacy: also accept the token endpoint URL as a client assertion aud (off: only the issuer, per draft-ietf-oauth-rfc7523bis).' },
  rateLimitFailures: { env: 'LATCHKEY_RATE_LIMIT_FAILURES', default: 20, doc: 'Failed client authentications allowed per client id and per address per window before 429.' },
  rateLimitWindow: { env: 'LATCHKEY_RATE_LIMIT_WINDOW', default: 60, doc: 'Window in seconds for the failed-authentication limits.' },
  trustProxy: { env: 'LATCHKEY_TRUST_PROXY', default: undefined, doc: 'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For (and client-certificate header) are trusted.' },
  workers: { env: 'LATCHKEY_WORKERS', default: 1, doc: 'Worker processes sharing the port (latchkey start --workers N; the CLI default is the number of CPUs).' },
  storeOutageGrace: { env: 'LATCHKEY_STORE_OUTAGE_GRACE', default: 300, doc: 'Seconds a node keeps issuing JWTs for cached clients while the store is unreachable (client changes made meanwhile cannot reach it); after that, token requests get 503. 0 = refuse at once.' },
  tlsCert: { env: 'LATCHKEY_TLS_CERT', default: undefined, doc: 'PEM file of the server certificate (chain): serve HTTPS. Enables mutual TLS client authentication (RFC 8705).' },
  tlsKey: { env: 'LATCHKEY_TLS_KEY', default: undefined, doc: 'PEM file of the private key of tlsCert.' },
  tlsCa: { env: 'LATCHKEY_TLS_CA', default: undefined, doc: 'PEM file of the CA certificate(s) that issue client certificates for tls_client_auth. Without it only self_signed_tls_client_auth is possible.' },
  tlsClientCertHeader: { env: 'LATCHKEY_TLS_CLIENT_CERT_HEADER', default: undefined, doc: 'Header carrying the client certificate from a TLS-terminating proxy (RFC 9440 Client-Cert, or URL-encoded PEM as nginx $ssl_client_escaped_cert). Read only from the peers in trustProxy.' },
  clockSkew: { env: 'LATCHKEY_CLOCK_SKEW', default: 30, doc: 'Seconds of clock difference tolerated on client assertion and DPoP proof times (exp, nbf, iat).' },
  assertionMaxLifetime: { env: 'LATCHKEY_ASSERTION_MAX_LIFETIME', default: 3600, doc: 'Longest accepted client assertion lifetime (exp - now, and exp - iat) in seconds.' },
  dpopProofMaxAge: { env: 'LATCHKEY_DPOP_PROOF_MAX_AGE', default: 60, doc: 'Oldest accepted DPoP proof (now - iat) in seconds, plus clockSkew (RFC 9449 §4.3).' },
  dpopNonce: { env: 'LATCHKEY_DPOP_NONCE', default: false, doc: 'Require server-provided DPoP nonces at the token endpoint (RFC 9449 §8).' },
  jwksFetchTimeout: { env: 'LATCHKEY_JWKS_FETCH_TIMEOUT_MS', default: 3000, doc: 'Timeout (ms) for fetching a client jwks_uri.' },
  jwksMaxBytes: { env: 'LATCHKEY_JWKS_MAX_BYTES', default: 65536, doc: 'Largest accepted client jwks_uri document, in bytes.' },
  jwksCacheTtl: { env: 'LATCHKEY_JWKS_CACHE_TTL', default: 300, doc: 'Seconds a fetched client JWKS is used before it is fetched again.' },
  jwksRefreshCooldown: { env: 'LATCHKEY_JWKS_REFRESH_COOLDOWN', default: 30, doc: 'Minimum seconds between two fetches of one client jwks_uri (unknown kid, failures).' },
} as const;

const alg = z.enum(['ES256', 'EdDSA', 'RS256', 'PS256']);
const intFromString = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(min).max(max));
const boolFromString = z.preprocess((v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean());

export const configSchema = z
  .object({
    port: intFromString(0, 65535),
    host: z.string().min(1),
    issuer: z.string().url().optional(),
    dataDir: z.string().min(1),
    db: z.string().regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'must start with sqlite: or postgres://').optional(),
    sqliteCacheMb: intFromString(1, 65_536),
    redis: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    kek: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    signingAlg: alg,
    defaultAudience: z.string().url().optional(),
    accessTokenTtl: intFromString(1, 31_536_000),
    maxAccessTokenTtl: intFromString(1, 31_536_000),
    keyRotationPeriod: intFromString(0, 31_536_000),
    keyPrePublish: intFromString(0, 31_536_000),
    maintenanceInterval: intFromString(1, 86_400),
    changePollInterval: intFromString(10, 60_000),
    allowTokenEndpointAudience: boolFromString,
    rateLimitFailures: intFromString(1, 1_000_000),
    rateLimitWindow: intFromString(1, 86_400),
    trustProxy: z.string().optional(),
    workers: intFromString(1, 256),
    storeOutageGrace: intFromString(0, 86_400),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    tlsCa: z.string().min(1).optional(),
    tlsClientCertHeader: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name').optional(),
    clockSkew: intFromString(0, 600),
    assertionMaxLifetime: intFromString(1, 86_400),
    dpopProofMaxAge: intFromString(1, 3600),
    dpopNonce: boolFromString,
    jwksFetchTimeout: intFromString(100, 60_000),
    jwksMaxBytes: intFromString(1024, 10_485_760),
    jwksCacheTtl: intFromString(1, 86_400),
    jwksRefreshCooldown: intFromString(0, 3600),
  })
  .strict();

export type ConfigInput = Partial<{ [K in keyof typeof settings]: unknown }>;
export type Config = Readonly<z.infer<typeof configSchema> & { issuer: string; db: string; defaultAudience: string }>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
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

/** Merge the layers, validate, fill defaults, freeze. Throws ConfigError naming the bad setting. */
export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env, configFile?: string): Config {
  let file: Record<string, unknown> = {};
  const path = configFile ?? env.LATCHKEY_CONFIG;
  if (path) {
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`config file ${path}: ${(e as Error).message}`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new ConfigError(`config file ${path}: must be a JSON object`);
  }
  const merged: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = (flags as Record<string, unknown>)[key];
    const fromEnv = env[s.env];
    const fromFile = file[key];
    const v = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ?? fromFile ?? s.default;
    if (v !== undefined) merged[key] = v;
  }
  for (const key of Object.keys(file)) {
    if (!(key in settings)) throw new ConfigError(`config file ${path}: unknown setting "${key}"`);
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? '?');
    const envName = (settings as Record<string, { env: string }>)[name]?.env;
    throw new ConfigError(`invalid setting "${name}"${envName ? ` (${envName})` : ''}: ${issue.message}`);
  }
  const c = parsed.data;
  const issuer = validateIssuer(c.issuer ?? `${c.tlsCert ? 'https' : 'http'}://${c.host.includes(':') ? `[${c.host}]` : c.host === '0.0.0.0' ? '127.0.0.1' : c.host}:${c.port}`);
  if (c.maxAccessTokenTtl < c.accessTokenTtl) throw new ConfigError('invalid setting "accessTokenTtl": exceeds maxAccessTokenTtl');
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) throw new ConfigError('invalid setting "tlsKey": tlsCert and tlsKey go together');
  if (c.tlsCa && !c.tlsCert && !c.tlsClientCertHeader) throw new ConfigError('invalid setting "tlsCa": needs a TLS listener (tlsCert, tlsKey) or tlsClientCertHeader');
  if (c.tlsClientCertHeader && !c.trustProxy) throw new ConfigError('invalid setting "tlsClientCertHeader": needs trustProxy (the proxies allowed to send it)');
  const dataDir = resolve(c.dataDir);
  return Object.freeze({
    ...c,
    dataDir,
    issuer,
    db: c.db ?? `sqlite:${join(dataDir, 'latchkey.db')}`,
    defaultAudience: c.defaultAudience ?? issuer,
  });
}
