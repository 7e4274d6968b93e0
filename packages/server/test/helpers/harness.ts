/**
 * Test harness: a real Latchkey server on a random port, with a real SQLite file or a fresh
 * PostgreSQL database. Used by the server's tests and by the client/resource libraries' tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { startServer, createLogger, type RunningServer } from '../../src/app/server.js';
import { ClientService } from '../../src/management/clients.service.js';
import type { Runtime } from '../../src/app/runtime.js';

export const PG_URL = process.env.LATCHKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Set by .ci/run: PostgreSQL tests must run, not skip. */
export const PG_REQUIRED = process.env.LATCHKEY_TEST_REQUIRE_PG === '1';

let pgChecked: Promise<boolean> | undefined;
/** Whether PostgreSQL is reachable; when it is not and not required, says so loudly. */
export function pgAvailable(): Promise<boolean> {
  pgChecked ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: PG_REQUIRED ? 10_000 : 2000 }); // required (CI): a busy machine may take seconds to accept
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch (e) {
      if (PG_REQUIRED) throw new Error(`PostgreSQL is required (LATCHKEY_TEST_REQUIRE_PG=1) but unreachable at ${PG_URL}: ${(e as Error).message}`);
      process.stderr.write(`\n*** PostgreSQL not reachable at ${PG_URL}: PostgreSQL tests are SKIPPED (${(e as Error).message}) ***\n\n`);
      return false;
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return pgChecked;
}

/** A fresh PostgreSQL database for one test; returns its URL and a drop function. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `lk_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ClientMeta {
  client_id?: string;
  client_name?: string;
  scope?: string;
  default_scope?: string;
  audience?: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt' | 'tls_client_auth' | 'self_signed_tls_client_auth' | 'federated_jwt';
  grant_types?: string[];
  jwks?: { keys: object[] };
  jwks_uri?: string;
  access_token_ttl?: number;
  access_token_format?: 'jwt' | 'opaque';
  [k: string]: unknown;
}

export interface TestServer {
  url: string;
  issuer: string;
  dataDir: string;
  db: string;
  admin: { client_id: string; client_secret: string };
  /** The server's runtime (store, keyring, caches, …) — the parts the composition root wires together. */
  services: Runtime;
  running: RunningServer;
  createClient(meta: ClientMeta): Promise<{ client_id: string; client_secret?: string; [k: string]: unknown }>;
  /** Applies pending change-feed events now (instead of waiting for the next poll). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  store?: 'sqlite' | 'postgres';
  /** Reuse an existing store (multi-node tests): sqlite:PATH or postgres://… */
  db?: string;
  dataDir?: string;
  config?: ConfigInput & Record<string, unknown>;
  /** Shared key-encryption key (multi-node tests). Default: a per-test random one. */
  kek?: string;
  /** Receives the server's log lines (at logLevel, default trace when given). */
  logStream?: NodeJS.WritableStream;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'latchkey-test-'));
  let dropDb: (() => Promise<void>) | undefined;
  let db = opts.db;
  if (!db && opts.store === 'postgres') {
    const created = await createPgDatabase();
    db = created.url;
    dropDb = created.drop;
  }
  const port = await freePort();
  const config = loadConfig(
    {
      port,
      host: '127.0.0.1',
      dataDir,
      db,
      logLevel: process.env.LATCHKEY_TEST_LOG_LEVEL ?? (opts.logStream ? 'trace' : 'silent'),
      kek: opts.kek ?? process.env.LATCHKEY_TEST_KEK,
      ...(opts.config ?? {}),
    },
    {},
  );
  const running = await startServer(config, { log: createLogger(config.logLevel, opts.logStream) });
  const s = running.runtime;
  let admin = running.bootstrap;
  if (!admin) {
    // Joining an existing store (second node): make our own admin-scoped client.
    const c = await new ClientService(s).create({ client_name: 'test admin', scope: 'latchkey:admin latchkey:introspect', audience: [config.issuer] }, 'test');
    admin = { client_id: c.client_id as string, client_secret: c.client_secret as string, preset: false };
  }
  return {
    url: running.url,
    issuer: config.issuer,
    dataDir,
    db: config.db,
    admin,
    services: s,
    running,
    async createClient(meta) {
      const created = await new ClientService(s).create(meta as never, 'test');
      await s.feed.poll();
      return created as { client_id: string; client_secret?: string };
    },
    async sync() {
      await s.feed.poll();
    },
    async close() {
      await running.close();
      if (dropDb) await dropDb().catch(() => {});
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** POST a form to the server; returns status, headers and parsed JSON. */
export async function postForm(
  url: string,
  body: string | Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
    text = p.toString();
  }
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: text,
  });
  const t = await res.text();
  let json: any;
  try {
    json = JSON.parse(t);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text: t };
}

export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64');
}

/** A response body as JSON, or undefined when it is empty or not JSON. */
export async function readJson(res: Response): Promise<{ text: string; json: any }> {
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { text, json };
}
