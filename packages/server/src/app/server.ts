import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { readFileSync } from 'node:fs';
import { ConfigError, describeSetting, type Config } from '../config.js';
import { buildHttpServer } from '../http/server.js';
import { ClientService } from '../management/clients.service.js';
import { ADMIN_SCOPE, INTROSPECT_SCOPE } from '../shared/scope.js';
import { composeServer, type ComposedServer } from './compose.js';
import { maskSecrets } from './log-mask.js';
import { trustProxyRanges } from '../limits/failure-limiter.js';
import { closeRuntime, openRuntime, startRuntime, type Runtime } from './runtime.js';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = {
    level,
    base: { service: 'latchkey' },
    // Defence in depth: nothing should ever log these, but if it does they are masked.
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'client_secret', 'client_assertion', 'access_token', 'token', 'secret', '*.client_secret', '*.access_token'],
      censor: '[redacted]',
    },
    // Every line, every field: values shaped like Latchkey secrets/tokens or JWTs are masked (log-mask.ts).
    hooks: { streamWrite: maskSecrets },
  };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}

export interface Bootstrap {
  client_id: string;
  /** The admin secret: generated (printed once by the CLI) or the preset one (never printed). */
  client_secret: string;
  /** True when the id and secret came from bootstrapAdminId / bootstrapAdminSecret(File). */
  preset: boolean;
}

/**
 * The one row that says "the first admin has been made": a single-use value (unique key, kept until
 * year 9999) in the store, so that of several nodes starting together on one empty database exactly
 * one wins and creates (and prints) the admin client. Atomic on PostgreSQL (unique insert) and on
 * SQLite (one writer at a time), across processes and workers.
 */
export const BOOTSTRAP_MARKER = 'latchkey:bootstrap:admin';
const FOREVER = 253_402_300_799;

/** The preset admin secret, if configured: from bootstrapAdminSecret or the file bootstrapAdminSecretFile. */
function presetSecret(config: Config): string | undefined {
  if (config.bootstrapAdminSecret !== undefined) return config.bootstrapAdminSecret;
  if (config.bootstrapAdminSecretFile === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(config.bootstrapAdminSecretFile, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`invalid setting ${describeSetting('bootstrapAdminSecretFile')}: cannot read ${config.bootstrapAdminSecretFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (text.length < 32 || text.length > 512 || /\s/.test(text)) {
    throw new ConfigError(`invalid setting ${describeSetting('bootstrapAdminSecretFile')}: ${config.bootstrapAdminSecretFile} must hold one secret of 32 to 512 characters without spaces`);
  }
  return text;
}

/**
 * First start (no signing key yet): create the signing key and the admin client — with the preset id
 * and secret when configured (LATCHKEY_BOOTSTRAP_ADMIN_*), else generated; the credentials are
 * returned once, for printing. Of several nodes starting together on one store exactly one creates it
 * (BOOTSTRAP_MARKER); the others, and every later start, return undefined.
 */
export async function bootstrap(rt: Pick<Runtime, 'store' | 'keyring' | 'config' | 'hasher' | 'sealer' | 'outbound'>): Promise<Bootstrap | undefined> {
  if ((await rt.store.listKeys()).length > 0) return undefined;
  // Read (and check) the preset secret before claiming the marker: a bad file must not use up the first start.
  const secret = presetSecret(rt.config);
  const id = rt.config.bootstrapAdminId;
  if (id !== undefined && (await rt.store.getClient(id))) {
    throw new ConfigError(`invalid setting ${describeSetting('bootstrapAdminId')}: a client ${id} already exists in this store`);
  }
  if (!(await rt.store.useOnce(BOOTSTRAP_MARKER, FOREVER))) return undefined; // another node made the admin
  await rt.keyring.ensureKey();
  const admin = await new ClientService(rt).create(
    {
      ...(id !== undefined ? { client_id: id } : {}),
      client_name: 'Latchkey admin',
      scope: `${ADMIN_SCOPE} ${INTROSPECT_SCOPE}`,
      audience: [rt.config.issuer],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    'bootstrap',
    secret !== undefined ? { secret } : {},
  );
  return { client_id: admin.client_id as string, client_secret: secret ?? (admin.client_secret as string), preset: secret !== undefined };
}

export interface RunningServer {
  runtime: Runtime;
  /** The composed features (endpoints, metadata, …) this server serves. */
  composed: ComposedServer;
  http: FastifyInstance;
  url: string;
  /** The operations listener (opsHost:opsPort: /metrics, /healthz, /readyz), when configured. */
  ops: { http: FastifyInstance; url: string } | undefined;
  bootstrap: Bootstrap | undefined;
  close(): Promise<void>;
}

/** Opens the store, bootstraps on first start, loads caches, composes the features, and listens. */
export async function startServer(config: Config, opts: { log?: Logger; https?: Record<string, unknown>; port?: number } = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config.logLevel);
  const runtime = await openRuntime(config, log);
  let boot: Bootstrap | undefined;
  let http: FastifyInstance | undefined;
  let opsHttp: FastifyInstance | undefined;
  let composed: ComposedServer;
  try {
    // Reads the TLS files: a missing one is a ConfigError before anything is served.
    composed = composeServer(runtime, { tls: opts.https });
    boot = await bootstrap(runtime);
    await startRuntime(runtime);
    http = await buildHttpServer(composed.http);
    await http.listen({ port: opts.port ?? config.port, host: config.host });
    if (composed.opsHttp && config.opsPort !== undefined) {
      opsHttp = await buildHttpServer(composed.opsHttp);
      await opsHttp.listen({ port: config.opsPort, host: config.opsHost });
    }
  } catch (e) {
    await opsHttp?.close().catch(() => {});
    await http?.close().catch(() => {});
    await closeRuntime(runtime).catch(() => {});
    throw e;
  }
  const addr = http.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const ranges = trustProxyRanges(config.trustProxy);
  if (ranges.length > 0) {
    log.warn(`trustProxy names address ranges (${ranges.join(', ')}): every host in them can set X-Forwarded-For, i.e. choose the client address the failed-authentication limits count; list the proxies' own addresses instead`);
  }
  const opsAddr = opsHttp?.server.address();
  const opsUrl = opsAddr && typeof opsAddr === 'object' ? `http://${config.opsHost.includes(':') ? `[${config.opsHost}]` : config.opsHost}:${opsAddr.port}` : undefined;
  let closed = false;
  return {
    runtime,
    composed,
    http,
    url: `${composed.http.tls ? 'https' : 'http'}://${host}:${port}`,
    ops: opsHttp && opsUrl ? { http: opsHttp, url: opsUrl } : undefined,
    bootstrap: boot,
    async close() {
      if (closed) return;
      closed = true;
      await opsHttp?.close();
      await http.close();
      await closeRuntime(runtime);
    },
  };
}
