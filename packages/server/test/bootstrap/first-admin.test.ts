import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Database from 'better-sqlite3';
import { basic, createPgDatabase, freePort, pgAvailable, postForm } from '../helpers/harness.js';
import { spawnNode, spawnNodes, type NodeProcess } from '../helpers/nodes.js';
import { runCli } from '../helpers/cli.js';

/**
 * Issue #17 item 4: the first admin. Real `latchkey start` processes on one empty store: exactly one
 * admin client, printed by exactly one node; a preset admin (LATCHKEY_BOOTSTRAP_ADMIN_*) is never
 * printed; `latchkey admin reset` recovers a lost admin and is audited.
 */

const kek = () => randomBytes(32).toString('base64url');
const printedSecret = (out: string) => /client_secret:\s+(\S+)/.exec(out)?.[1];
const printedId = (out: string) => /client_id:\s+(\S+)/.exec(out)?.[1];
const adminToken = (url: string, id: string, secret: string) =>
  postForm(`${url}/oauth2/token`, { grant_type: 'client_credentials', scope: 'latchkey:admin' }, { authorization: basic(id, secret) });

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'latchkey-boot-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('first start on an empty PostgreSQL: three nodes at once make one admin', async () => {
  const skip = !(await pgAvailable());
  it('exactly one admin client, its credentials printed by exactly one node, usable on every node', { skip, timeout: 120_000 }, async () => {
    const db = await createPgDatabase();
    const nodes: NodeProcess[] = [];
    try {
      const shared = { db: db.url, kek: kek(), issuer: `http://127.0.0.1:${await freePort()}` };
      // Started together: each opens the empty store, migrates and bootstraps concurrently.
      nodes.push(...(await spawnNodes(3, () => ({ ...shared, dataDir: tmp() }))));
      const printers = nodes.filter((n) => printedSecret(n.output()) !== undefined);
      assert.equal(printers.length, 1, `banner printed by ${printers.length} nodes:\n${nodes.map((n) => n.output()).join('\n---\n')}`);

      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const admins = await c.query<{ client_id: string }>("select client_id from clients where scope like '%latchkey:admin%'");
        assert.equal(admins.rows.length, 1, `admin clients: ${admins.rows.map((r) => r.client_id).join(', ')}`);
        const out = printers[0]!.output();
        assert.equal(admins.rows[0]!.client_id, printedId(out));
        // The secret is stored only as a hash.
        const raw = JSON.stringify((await c.query('select * from client_secrets')).rows) + JSON.stringify((await c.query('select * from clients')).rows);
        assert.ok(!raw.includes(printedSecret(out)!), 'secret stored in clear');
      } finally {
        await c.end();
      }
      const id = printedId(printers[0]!.output())!;
      const secret = printedSecret(printers[0]!.output())!;
      for (const n of nodes) assert.equal((await adminToken(n.url, id, secret)).status, 200, n.output());
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      await db.drop();
    }
  });
});

describe('first start on one SQLite file: two processes at once make one admin', () => {
  // Three fresh files: the race (both migrating and bootstrapping the same new file) lost about one start in three before
  // the migration ran under one write transaction.
  for (const round of [1, 2, 3]) {
    it(`one admin client, one banner (fresh file ${round})`, { timeout: 120_000 }, async () => {
      const dataDir = tmp();
      const shared = { db: `sqlite:${join(dataDir, 'latchkey.db')}`, kek: kek(), issuer: `http://127.0.0.1:${await freePort()}` };
      const nodes = await spawnNodes(2, () => ({ ...shared, dataDir }));
      try {
        assert.equal(nodes.filter((n) => printedSecret(n.output()) !== undefined).length, 1, nodes.map((n) => n.output()).join('\n---\n'));
        const d = new Database(join(dataDir, 'latchkey.db'), { readonly: true });
        try {
          const rows = d.prepare("select client_id from clients where scope like '%latchkey:admin%'").all();
          assert.equal(rows.length, 1);
        } finally {
          d.close();
        }
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    });
  }
});

describe('preset admin (LATCHKEY_BOOTSTRAP_ADMIN_ID / _SECRET_FILE) and admin reset', () => {
  it('the preset admin works, its secret is never printed or stored in clear; admin reset recovers it, audited', { timeout: 120_000 }, async () => {
    const dataDir = tmp();
    const secretFile = join(tmp(), 'admin-secret');
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(secretFile, secret + '\n', { mode: 0o600 });
    const k = kek();
    const db = `sqlite:${join(dataDir, 'latchkey.db')}`;
    const node = await spawnNode({ db, dataDir, kek: k, env: { LATCHKEY_BOOTSTRAP_ADMIN_ID: 'ops-admin', LATCHKEY_BOOTSTRAP_ADMIN_SECRET_FILE: secretFile } });
    try {
      assert.match(node.output(), /preset admin client ops-admin/);
      assert.ok(!node.output().includes(secret), 'preset secret printed');
      assert.equal((await adminToken(node.url, 'ops-admin', secret)).status, 200);
      for (const f of ['latchkey.db', 'latchkey.db-wal']) {
        const p = join(dataDir, f);
        if (existsSync(p)) assert.ok(!readFileSync(p).includes(Buffer.from(secret)), `${f} holds the secret in clear`);
      }

      // Lost secret: reset on the store gives ops-admin a new one; the old one stops working.
      const env = { LATCHKEY_KEK: k };
      const reset = await runCli(['admin', 'reset', '--client-id', 'ops-admin', '--db', db, '--data-dir', dataDir, '--json'], env);
      assert.equal(reset.code, 0, reset.stderr);
      const r = JSON.parse(reset.stdout) as { client_id: string; client_secret: string };
      assert.equal(r.client_id, 'ops-admin');
      const within = async (check: () => Promise<boolean>) => {
        const t0 = Date.now();
        while (Date.now() - t0 < 3000) {
          if (await check()) return;
          await new Promise((res) => setTimeout(res, 50));
        }
        assert.fail('not within 3 s');
      };
      await within(async () => (await adminToken(node.url, 'ops-admin', r.client_secret)).status === 200);
      await within(async () => (await adminToken(node.url, 'ops-admin', secret)).status === 401);

      // Admin client gone altogether: reset without --client-id makes a new one.
      const fresh = await runCli(['admin', 'reset', '--db', db, '--data-dir', dataDir, '--json'], env);
      assert.equal(fresh.code, 0, fresh.stderr);
      const n = JSON.parse(fresh.stdout) as { client_id: string; client_secret: string; created: boolean };
      assert.equal(n.created, true);
      assert.notEqual(n.client_id, 'ops-admin');
      await within(async () => (await adminToken(node.url, n.client_id, n.client_secret)).status === 200);

      const audit = await runCli(['audit', '--db', db, '--data-dir', dataDir, '--json'], env);
      assert.equal(audit.code, 0, audit.stderr);
      const recs = JSON.parse(audit.stdout) as { action: string; target: string; actor: string }[];
      assert.ok(recs.some((x) => x.action === 'admin.reset' && x.target === 'ops-admin' && x.actor.startsWith('cli:')));
      assert.ok(recs.some((x) => x.action === 'admin.reset' && x.target === n.client_id));
      assert.ok(!audit.stdout.includes(r.client_secret) && !audit.stdout.includes(n.client_secret), 'secret in the audit log');

      // Not an admin: refused with one line.
      const notAdmin = await runCli(['admin', 'reset', '--client-id', 'nobody', '--db', db, '--data-dir', dataDir], env);
      assert.equal(notAdmin.code, 1);
      assert.match(notAdmin.stderr, /^latchkey: no client nobody/);
    } finally {
      await node.stop();
    }
  });

  it('a preset secret file that cannot be read names the setting and leaves the store without an admin marker', { timeout: 60_000 }, async () => {
    const dataDir = tmp();
    const port = await freePort();
    const r = await runCli(['start', '--port', String(port), '--workers', '1', '--data-dir', dataDir], {
      LATCHKEY_KEK: kek(),
      LATCHKEY_BOOTSTRAP_ADMIN_ID: 'ops-admin',
      LATCHKEY_BOOTSTRAP_ADMIN_SECRET_FILE: join(dataDir, 'missing'),
      LATCHKEY_LOG_LEVEL: 'silent',
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /bootstrapAdminSecretFile.*LATCHKEY_BOOTSTRAP_ADMIN_SECRET_FILE.*cannot read/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    // The first start is not used up: no marker row, no admin client.
    const d = new Database(join(dataDir, 'latchkey.db'), { readonly: true });
    try {
      assert.equal((d.prepare("select count(*) as n from use_once where key like 'latchkey:bootstrap%'").get() as { n: number }).n, 0);
      assert.equal((d.prepare('select count(*) as n from clients').get() as { n: number }).n, 0);
    } finally {
      d.close();
    }
  });
});
