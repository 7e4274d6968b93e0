#!/usr/bin/env node
// Scale benchmark (issue 8 item 6), one run: JWT + client_secret_basic tokens/s for
//   1 worker (SQLite) · 2 workers (SQLite) · 1 node on PostgreSQL · 2 nodes on one PostgreSQL.
// Load: autocannon, 50 connections in all (split across nodes for the two-node case), warm-up then the
// measured window, every response checked (non-2xx/errors must be 0). Nothing is pinned: with 2 workers
// or 2 nodes the servers need both cores, and the load generator shares them — the ratio shows what one
// machine gains, not what a second machine would.
//   node bench/scale.mjs [--duration 10] [--warmup 3] [--quick]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort, startChild, waitReady } from './lib/proc.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'packages/server/dist/cli/main.js');
const quick = process.argv.includes('--quick');
const arg = (n, d) => (process.argv.includes(`--${n}`) ? Number(process.argv[process.argv.indexOf(`--${n}`) + 1]) : d);
const DURATION = arg('duration', quick ? 3 : 10);
const WARMUP = arg('warmup', quick ? 2 : 3);
const PG = process.env.LATCHKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function node({ db, dataDir, kek, workers, issuer, port }) {
  const p = startChild([process.execPath, main, 'start', '--port', String(port), '--workers', String(workers), '--data-dir', dataDir, ...(db ? ['--db', db] : []), ...(issuer ? ['--issuer', issuer] : [])], {
    env: { LATCHKEY_LOG_LEVEL: 'warn', LATCHKEY_KEK: kek, NODE_ENV: 'production' },
  });
  await waitReady(`http://127.0.0.1:${port}/readyz`, p, 60_000);
  return p;
}

function client(db, dataDir, kek) {
  const out = execFileSync(process.execPath, [main, 'clients', 'create', '--name', 'scale', '--scope', 'read write', '--data-dir', dataDir, ...(db ? ['--db', db] : []), '--json'], {
    env: { ...process.env, LATCHKEY_KEK: kek },
  }).toString();
  return JSON.parse(out);
}

function load(urls, auth, seconds) {
  const per = Math.floor(50 / urls.length);
  return Promise.all(
    urls.map(
      (url) =>
        new Promise((res, rej) => {
          const inst = autocannon(
            { url: `${url}/oauth2/token`, connections: per, duration: seconds, method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' },
            (err, r) => (err ? rej(err) : res(r)),
          );
          void inst;
        }),
    ),
  ).then((rs) => ({
    rps: rs.reduce((a, r) => a + r.requests.average, 0),
    p99: Math.max(...rs.map((r) => r.latency.p99)),
    bad: rs.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0),
  }));
}

async function scenario(name, { pgDb, nodes = 1, workers = 1 }) {
  const kek = randomBytes(32).toString('base64url');
  const dataDir = mkdtempSync(join(tmpdir(), 'lk-scale-'));
  let db;
  let dropDb;
  if (pgDb) {
    const dbName = `lk_scale_${randomBytes(4).toString('hex')}`;
    const a = new pg.Client({ connectionString: PG });
    await a.connect();
    await a.query(`create database ${dbName}`);
    await a.end();
    const u = new URL(PG);
    u.pathname = `/${dbName}`;
    db = u.toString();
    dropDb = async () => {
      const b = new pg.Client({ connectionString: PG });
      await b.connect();
      await b.query(`drop database if exists ${dbName} with (force)`);
      await b.end();
    };
  }
  const ports = await Promise.all([...Array(nodes)].map(() => freePort()));
  const issuer = `http://127.0.0.1:${ports[0]}`;
  const procs = [];
  try {
    for (const port of ports) procs.push(await node({ db, dataDir, kek, workers, issuer, port }));
    const c = client(db, dataDir, kek);
    await new Promise((r) => setTimeout(r, 1500));
    const auth = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    await load(urls, auth, WARMUP);
    const r = await load(urls, auth, DURATION);
    return { name, ...r };
  } finally {
    for (const p of procs) await p.stop('SIGTERM', 15_000);
    await dropDb?.();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = [];
for (const [name, o] of [
  ['1 worker (SQLite)', {}],
  ['2 workers (SQLite)', { workers: 2 }],
  ['1 node (PostgreSQL)', { pgDb: true }],
  ['2 nodes, one PostgreSQL', { pgDb: true, nodes: 2 }],
]) {
  const r = await scenario(name, o);
  results.push(r);
  console.error(`${name.padEnd(26)} ${Math.round(r.rps).toLocaleString('en').padStart(7)} tokens/s  p99 ${r.p99} ms  ${r.bad ? `INVALID (${r.bad} bad)` : 'ok'}`);
}
const base = results[0].rps;
const pgBase = results[2].rps;
console.log('\n| setup | tokens/s | ratio | p99 ms | status |\n|---|---|---|---|---|');
for (const r of results) {
  const ref = r.name.includes('PostgreSQL') ? pgBase : base;
  console.log(`| ${r.name} | ${Math.round(r.rps).toLocaleString('en')} | ${(r.rps / ref).toFixed(2)}× | ${r.p99} | ${r.bad ? 'INVALID' : 'ok'} |`);
}
const out = { date: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, duration: DURATION, results };
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, `bench/results/scale-${out.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(out, null, 2));
process.exitCode = results.some((r) => r.bad) ? 1 : 0;
