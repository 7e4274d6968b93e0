import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { bootstrap, createLogger, startServer, type Bootstrap } from '../../app/server.js';
import { closeRuntime, openRuntime } from '../../app/runtime.js';
import { isWorker, reportStartupFailure, runPrimary } from '../../cluster.js';
import { ConfigError, describeSetting, type Config } from '../../config.js';
import { OAuthError } from '../../shared/errors.js';
import { configFrom, fail, withStoreOptions, type StoreOptions } from '../shared.js';
import { checkListen, checkTlsFiles } from './start-preflight.js';

function printBootstrap(b: Bootstrap | undefined): void {
  if (!b) return;
  if (b.preset) {
    // The preset secret is the operator's own: never echoed.
    process.stdout.write(`\nLatchkey initialised a new data store with the preset admin client ${b.client_id} (bootstrapAdminId; its secret is not shown).\n\n`);
    return;
  }
  // Printed once, to the terminal only — never through the logger.
  process.stdout.write(
    [
      '',
      'Latchkey initialised a new data store. Admin client (shown only once, store it now):',
      `  client_id:     ${b.client_id}`,
      `  client_secret: ${b.client_secret}`,
      '',
      '',
    ].join('\n'),
  );
}

/** `http://HOST:PORT` as the listener sees it — the listen address, which is not the issuer. */
const listenUrl = (config: Config, port: number) =>
  `${config.tlsCert ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

/** The one-line banner: where it listens and, separately, the issuer clients must use. */
const banner = (config: Config, url: string, store: string, workers?: number) =>
  `Latchkey listening on ${url}${workers ? ` with ${workers} workers` : ''} (issuer ${config.issuer}, store ${store})\n`;

/**
 * Before anything is opened, written or forked: the TLS files are usable and the listen address can be
 * bound. A mistake here ends with one line naming the setting, and leaves no store or KEK behind.
 */
async function preflight(config: Config): Promise<void> {
  checkTlsFiles(config);
  if (config.port === 0 && config.workers > 1) {
    // Workers would each get "the same random port" from node:cluster, which the primary cannot check or show.
    throw new ConfigError(`invalid setting ${describeSetting('port')}: 0 (any free port) needs ${describeSetting('workers')} 1`);
  }
  await checkListen(config.host, config.port);
}

/** Primary of a multi-worker node: first-start bootstrap happens here, once, before any worker exists. */
async function startPrimary(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const s = await openRuntime(config, log);
  let store: string;
  try {
    store = s.store.dialect;
    printBootstrap(await bootstrap(s));
  } finally {
    await closeRuntime(s);
  }
  runPrimary({
    workers: config.workers,
    log,
    onListening: () => process.stdout.write(banner(config, listenUrl(config, config.port), store, config.workers)),
  });
}

/** One line, as `fail` prints it, for a worker to hand to its primary. */
function describeFailure(e: unknown): { message: string; code: number } {
  if (e instanceof ConfigError) return { message: e.message, code: 2 };
  if (e instanceof OAuthError) return { message: e.toJSON().error_description, code: 1 };
  return { message: (e as Error)?.message ?? String(e), code: 1 };
}

interface StartOpts extends StoreOptions {
  port?: string;
  host?: string;
  issuer?: string;
  redis?: string;
  logLevel?: string;
  workers?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

export function startCommand(): Command {
  return withStoreOptions(
    new Command('start')
      .description('start the authorization server')
      .addOption(new Option('--port <port>', 'port to listen on (default 8080)').env('LATCHKEY_PORT'))
      .addOption(new Option('--host <host>', 'address to listen on (default 127.0.0.1); any other needs --issuer').env('LATCHKEY_HOST'))
      .addOption(new Option('--issuer <url>', 'issuer identifier: the URL clients reach this server at (https:// unless loopback)').env('LATCHKEY_ISSUER'))
      .addOption(new Option('--redis <url>', 'Redis URL for shared rate limits and replay caches').env('LATCHKEY_REDIS'))
      .addOption(new Option('--log-level <level>', 'log level').env('LATCHKEY_LOG_LEVEL'))
      .addOption(new Option('--workers <n>', 'worker processes sharing the port (default: number of CPUs)').env('LATCHKEY_WORKERS'))
      .addOption(new Option('--tls-cert <file>', 'PEM server certificate: serve HTTPS (enables mutual TLS, RFC 8705)').env('LATCHKEY_TLS_CERT'))
      .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('LATCHKEY_TLS_KEY'))
      .addOption(new Option('--tls-ca <file>', 'PEM CA certificate(s) issuing client certificates (tls_client_auth)').env('LATCHKEY_TLS_CA')),
  ).action(async (o: StartOpts) => {
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      const config = configFrom(o, {
        port: o.port,
        host: o.host,
        issuer: o.issuer,
        redis: o.redis,
        logLevel: o.logLevel,
        tlsCert: o.tlsCert,
        tlsKey: o.tlsKey,
        tlsCa: o.tlsCa,
        workers: o.workers,
      }, { workers: isWorker() ? 1 : availableParallelism() }); // CPU count is only the default: the config file's "workers" wins over it
      // The primary (or the single process) checks everything it can before opening the store or forking;
      // a worker's listen is shared through the primary, so it does not bind-check again.
      if (!isWorker()) await preflight(config);
      if (config.workers > 1 && !isWorker()) {
        await startPrimary(config);
        return;
      }
      server = await startServer(config);
      printBootstrap(server.bootstrap);
      if (!isWorker()) process.stdout.write(banner(config, server.url, server.runtime.store.dialect));
      else server.runtime.log.info({ pid: process.pid, url: server.url }, 'worker listening');
    } catch (e) {
      if (isWorker()) {
        const f = describeFailure(e);
        reportStartupFailure(f.message, f.code); // the primary prints it once and stops the server
        return;
      }
      fail(e);
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.runtime.log.info({ signal }, 'shutting down: draining in-flight requests');
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
