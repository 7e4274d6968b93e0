import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { bootstrap, createLogger, startServer, type Bootstrap } from '../../app/server.js';
import { closeRuntime, openRuntime } from '../../app/runtime.js';
import { isWorker, runPrimary } from '../../cluster.js';
import type { Config } from '../../config.js';
import { configFrom, fail, withStoreOptions, type StoreOptions } from '../shared.js';

function printBootstrap(b: Bootstrap | undefined): void {
  if (!b) return;
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

/** Primary of a multi-worker node: first-start bootstrap happens here, once, before any worker exists. */
async function startPrimary(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const s = await openRuntime(config, log);
  try {
    printBootstrap(await bootstrap(s));
  } finally {
    await closeRuntime(s);
  }
  process.stdout.write(`Latchkey starting ${config.workers} workers on ${config.issuer} (store ${config.db.split(':', 1)[0]})\n`);
  runPrimary(config.workers, log);
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
      .addOption(new Option('--host <host>', 'address to listen on (default 127.0.0.1)').env('LATCHKEY_HOST'))
      .addOption(new Option('--issuer <url>', 'issuer identifier (https:// unless loopback)').env('LATCHKEY_ISSUER'))
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
      if (config.workers > 1 && !isWorker()) {
        await startPrimary(config);
        return;
      }
      server = await startServer(config);
      printBootstrap(server.bootstrap);
      if (!isWorker()) process.stdout.write(`Latchkey listening on ${server.url} (issuer ${config.issuer}, store ${server.runtime.store.dialect})\n`);
      else server.runtime.log.info({ pid: process.pid, url: server.url }, 'worker listening');
    } catch (e) {
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
