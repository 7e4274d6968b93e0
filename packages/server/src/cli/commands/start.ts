import { Command, Option } from 'commander';
import { startServer } from '../../app.js';
import { configFrom, fail, withStoreOptions, type StoreOptions } from '../shared.js';

interface StartOpts extends StoreOptions {
  port?: string;
  host?: string;
  issuer?: string;
  redis?: string;
  logLevel?: string;
}

export function startCommand(): Command {
  return withStoreOptions(
    new Command('start')
      .description('start the authorization server')
      .addOption(new Option('--port <port>', 'port to listen on (default 8080)').env('LATCHKEY_PORT'))
      .addOption(new Option('--host <host>', 'address to listen on (default 127.0.0.1)').env('LATCHKEY_HOST'))
      .addOption(new Option('--issuer <url>', 'issuer identifier (https:// unless loopback)').env('LATCHKEY_ISSUER'))
      .addOption(new Option('--redis <url>', 'Redis URL for shared rate limits and replay caches').env('LATCHKEY_REDIS'))
      .addOption(new Option('--log-level <level>', 'log level').env('LATCHKEY_LOG_LEVEL')),
  ).action(async (o: StartOpts) => {
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      const config = configFrom(o, {
        port: o.port,
        host: o.host,
        issuer: o.issuer,
        redis: o.redis,
        logLevel: o.logLevel,
      });
      server = await startServer(config);
      const b = server.bootstrap;
      if (b) {
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
      process.stdout.write(`Latchkey listening on ${server.url} (issuer ${config.issuer}, store ${server.services.store.dialect})\n`);
    } catch (e) {
      fail(e);
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.services.log.info({ signal }, 'shutting down: draining in-flight requests');
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
