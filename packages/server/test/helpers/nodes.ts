import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { CLI } from './cli.js';
import { createPgDatabase, freePort } from './harness.js';

export interface NodeProcess {
  url: string;
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `latchkey start` as a real separate process and waits for /healthz. */
export async function spawnNode(opts: { db: string; dataDir: string; kek: string; redis?: string; issuer?: string; workers?: number; env?: Record<string, string> }): Promise<NodeProcess> {
  const port = await freePort();
  const args = [CLI, 'start', '--port', String(port), '--db', opts.db, '--data-dir', opts.dataDir, '--workers', String(opts.workers ?? 1)];
  if (opts.redis) args.push('--redis', opts.redis);
  // Nodes of one deployment share one issuer (the load balancer's URL); each still listens on its own port.
  if (opts.issuer) args.push('--issuer', opts.issuer);
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, LATCHKEY_KEK: opts.kek, LATCHKEY_LOG_LEVEL: 'warn', ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`node exited: ${out}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > 20_000) {
      proc.kill('SIGKILL');
      throw new Error(`node did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    proc,
    output: () => out,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
      return new Promise((resolve) => {
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      });
    },
  };
}

/** Starts several nodes at once; if any fails to start, the others are stopped before the error is thrown. */
export async function spawnNodes(count: number, opts: (i: number) => Parameters<typeof spawnNode>[0]): Promise<NodeProcess[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => spawnNode(opts(i))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop('SIGKILL')] : [])));
    throw failed.reason;
  }
  return settled.map((r) => (r as PromiseFulfilledResult<NodeProcess>).value);
}

/** A TCP proxy to a real service that a test can cut off (all connections dropped, new ones refused) and restore. */
export class CuttableProxy {
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  async start(port = 0): Promise<number> {
    this.#server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.#sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.#server!.listen(port, '127.0.0.1', () => r()));
    const a = this.#server.address();
    this.port = typeof a === 'object' && a ? a.port : port;
    return this.port;
  }

  async cut(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    for (const sock of this.#sockets) sock.destroy();
    this.#sockets.clear();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }
}

/** A throwaway PostgreSQL database reached through a CuttableProxy: `url` goes through the proxy. */
export async function pgBehindProxy(): Promise<{ db: { url: string; drop(): Promise<void> }; proxy: CuttableProxy; url: string }> {
  const db = await createPgDatabase();
  const proxy = new CuttableProxy(5432);
  await proxy.start();
  const u = new URL(db.url);
  u.port = String(proxy.port);
  return { db, proxy, url: u.toString() };
}
