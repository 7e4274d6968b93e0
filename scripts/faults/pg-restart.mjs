#!/usr/bin/env node
// Restarts the machine's PostgreSQL with `pg_ctlcluster … restart -m immediate` while a Latchkey node on it
// serves a load loop of JWT issuance (cached client), opaque issuance and revocation. Expectation:
// JWTs keep coming (or a documented 503), opaque issuance/revocation answer 200 or 503 — never 500,
// never a hang (each request < 8 s), and full recovery within 10 s of PostgreSQL being back. Prints JSON.
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort, startChild, waitReady } from '../../bench/lib/proc.mjs';

const base = process.env.LATCHKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const name = `lk_fault_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`create database ${name}`);
await admin.end();
const u = new URL(base);
u.pathname = `/${name}`;
const db = u.toString();
const dataDir = mkdtempSync(join(tmpdir(), 'lk-pgfault-'));
const kek = randomBytes(32).toString('base64url');
const port = await freePort();
const main = new URL('../../packages/server/dist/cli/main.js', import.meta.url).pathname;
const node = startChild([process.execPath, main, 'start', '--workers', '1', '--port', String(port), '--db', db, '--data-dir', dataDir], { env: { LATCHKEY_KEK: kek, LATCHKEY_LOG_LEVEL: 'warn' } });
const url = `http://127.0.0.1:${port}`;
await waitReady(`${url}/readyz`, node, 30_000);
const mk = (extra) => JSON.parse(execFileSync(process.execPath, [main, 'clients', 'create', '--db', db, '--data-dir', dataDir, '--name', 'f', '--scope', 'a', '--json', ...extra], { env: { ...process.env, LATCHKEY_KEK: kek } }).toString());
const jwtC = mk([]);
const opqC = mk(['--token-format', 'opaque']);
await sleep(1000);
const basic = (c) => 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
const H = { 'content-type': 'application/x-www-form-urlencoded' };
const counts = {};
let slowest = 0;
let stop = false;
const loop = (async () => {
  while (!stop) {
    const s = Date.now();
    const ctl = AbortSignal.timeout(8000);
    const reqs = [
      ['jwt', fetch(`${url}/oauth2/token`, { method: 'POST', headers: { ...H, authorization: basic(jwtC) }, body: 'grant_type=client_credentials', signal: ctl })],
      ['opaque', fetch(`${url}/oauth2/token`, { method: 'POST', headers: { ...H, authorization: basic(opqC) }, body: 'grant_type=client_credentials', signal: ctl })],
      ['revoke', fetch(`${url}/oauth2/revoke`, { method: 'POST', headers: { ...H, authorization: basic(opqC) }, body: 'token=lko_unknown', signal: ctl })],
    ];
    for (const [k, p] of reqs) {
      let st;
      try { st = (await p).status; } catch (e) { st = `error:${e.name}`; }
      counts[`${k}:${st}`] = (counts[`${k}:${st}`] ?? 0) + 1;
    }
    slowest = Math.max(slowest, Date.now() - s);
    await sleep(20);
  }
})();
await sleep(2000);
const cluster = readdirSync('/etc/postgresql')[0];
const tRestart = Date.now();
// Asynchronously: the load loop keeps running through the restart.
await promisify(execFile)('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'restart', '-m', 'immediate']);
const pgBack = Date.now();
let recoveredAt;
while (Date.now() - pgBack < 30_000) {
  const [r, o] = await Promise.all([fetch(`${url}/readyz`), fetch(`${url}/oauth2/token`, { method: 'POST', headers: { ...H, authorization: basic(opqC) }, body: 'grant_type=client_credentials' })]);
  if (r.status === 200 && o.status === 200) { recoveredAt = Date.now(); break; }
  await sleep(100);
}
await sleep(1000);
stop = true;
await loop;
node.stop('SIGTERM');
const five = Object.entries(counts).filter(([k]) => /:5\d\d$/.test(k) && !/:503$/.test(k));
const result = { restart_ms: pgBack - tRestart, recovery_ms_after_pg_back: recoveredAt ? recoveredAt - pgBack : null, slowest_request_ms: slowest, counts };
result.pass = five.length === 0 && !Object.keys(counts).some((k) => k.includes('error')) && recoveredAt !== undefined && recoveredAt - pgBack <= 10_000;
console.log(JSON.stringify(result));
const a2 = new pg.Client({ connectionString: base });
await a2.connect();
await a2.query(`drop database if exists ${name} with (force)`);
await a2.end();
process.exit(result.pass ? 0 : 1);
