import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';
import { buildHttpServer } from '../http/server.js';
import { ClientService } from '../management/clients.service.js';
import { ADMIN_SCOPE, INTROSPECT_SCOPE } from '../shared/scope.js';
import { composeServer, type ComposedServer } from './compose.js';
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
  };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}

export interface Bootstrap {
  client_id: string;
  client_secret: string;
}

/**
 * First start (no signing key yet): create the signing key and an admin client whose credentials are
 * returned once for printing. Later starts return undefined.
 */
export async function bootstrap(rt: Pick<Runtime, 'store' | 'keyring' | 'config' | 'hasher' | 'sealer' | 'outbound'>): Promise<Bootstrap | undefined> {
  if ((await rt.store.listKeys()).length > 0) return undefined;
  await rt.keyring.ensureKey();
  const admin = await new ClientService(rt).create(
    {
      client_name: 'Latchkey admin',
      scope: `${ADMIN_SCOPE} ${INTROSPECT_SCOPE}`,
      audience: [rt.config.issuer],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    'bootstrap',
  );
  return { client_id: admin.client_id as string, client_secret: admin.client_secret as string };
}

export interface RunningServer {
  runtime: Runtime;
  /** The composed features (endpoints, metadata, …) this server serves. */
  composed: ComposedServer;
  http: FastifyInstance;
  url: string;
  bootstrap: Bootstrap | undefined;
  close(): Promise<void>;
}

/** Opens the store, bootstraps on first start, loads caches, composes the features, and listens. */
export async function startServer(config: Config, opts: { log?: Logger; https?: Record<string, unknown>; port?: number } = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config.logLevel);
  const runtime = await openRuntime(config, log);
  let boot: Bootstrap | undefined;
  let http: FastifyInstance | undefined;
  let composed: ComposedServer;
  try {
    // Reads the TLS files: a missing one is a ConfigError before anything is served.
    composed = composeServer(runtime, { tls: opts.https });
    boot = await bootstrap(runtime);
    await startRuntime(runtime);
    http = await buildHttpServer(composed.http);
    await http.listen({ port: opts.port ?? config.port, host: config.host });
  } catch (e) {
    await http?.close().catch(() => {});
    await closeRuntime(runtime).catch(() => {});
    throw e;
  }
  const addr = http.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closed = false;
  return {
    runtime,
    composed,
    http,
    url: `${composed.http.tls ? 'https' : 'http'}://${host}:${port}`,
    bootstrap: boot,
    async close() {
      if (closed) return;
      closed = true;
      await http!.close();
      await closeRuntime(runtime);
    },
  };
}
