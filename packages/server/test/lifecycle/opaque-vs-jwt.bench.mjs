#!/usr/bin/env node
// Opaque vs JWT issuance, side by side, one run, one server (issue 3 "Done when").
// Usage: npm run build && node packages/server/test/lifecycle/opaque-vs-jwt.bench.mjs [--seconds 5] [--rounds 2] [--connections 50] [--pg [URL]] [--introspect]
// --pg: a fresh PostgreSQL database (created and dropped) on URL (default postgres://127.0.0.1:5432/test) instead of SQLite.
// Starts `latchkey start` (built CLI) in a child process pinned to core 0 when taskset exists, makes a JWT
// client and an opaque client with the CLI, then alternates autocannon runs (JWT, opaque, JWT, opaque, …)
// against that one server from this process (pinned to core 1). Prints req/s per run and the opaque/JWT ratio
// of the medians. Every response is checked: a non-200 counts as an error and is reported.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import pg from 'pg';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const seconds = Number(opt('seconds', 5));
const rounds = Number(opt('rounds', 2));
const connections = Number(opt('connections', 50));
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const hasTaskset = spawnSync('taskset', ['-V']).status === 0;
if (hasTaskset && !process.env.LK_BENCH_PINNED) {
  // Re-run this script pinned to core 1; the server goes on core 0.
  const r = spawnSync('taskset', ['-c', '1', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, LK_BENCH_PINNED: '1' } });
  process.exit(r.status ?? 1);
}

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'lk-bench-'));
let db = `sqlite:${join(dir, 'latchkey.db')}`;
let dropDb = async () => {};
if (args.includes('--pg')) {
  process.env.PGUSER ||= process.env.USER || userInfo().username;
  const pgUrl = opt('pg', undefined)?.startsWith('postgres') ? opt('pg') : 'postgres://127.0.0.1:5432/test';
  const name = `lk_bench_${Date.now()}`;
  const admin = async (q) => {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(q);
    await c.end();
  };
  await admin(`create database ${name}`);
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  db = u.toString();
  dropDb = () => admin(`drop database if exists ${name} with (force)`);
}
const base = ['--data-dir', dir, '--db', db];
const env = { ...process.env, LATCHKEY_LOG_LEVEL: 'warn' };
const cli = (a) => JSON.parse(execFileSync(process.execPath, [CLI, ...a, ...base, '--json'], { env }).toString());

const cmd = hasTaskset ? ['taskset', ['-c', '0', process.execPath, CLI, 'start', '--port', String(port), ...base]] : [process.execPath, [CLI, 'start', '--port', String(port), ...base]];
const server = spawn(cmd[0], cmd[1], { env, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((res, rej) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    if (out.includes('listening on')) res();
  });
  server.on('exit', (c) => rej(new Error(`server exited ${c}`)));
});
const url = `http://127.0.0.1:${port}/oauth2/token`;
const jwt = cli(['clients', 'create', '--name', 'bench-jwt', '--scope', 'read write']);
const opaque = cli(['clients', 'create', '--name', 'bench-opaque', '--scope', 'read write', '--token-format', 'opaque']);
const basic = (c) => 'Basic ' + Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64');

async function load(client, duration, target = url, body = 'grant_type=client_credentials&scope=read%20write') {
  const r = await autocannon({
    url: target,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client) },
    body,
  });
  return { rps: r.requests.average, non2xx: r.non2xx, errors: r.errors, p99: r.latency.p99 };
}
// Sanity: each client really gets its format (retrying while the CLI's change reaches the server, ≤ 1 s).
process.on('exit', () => server.kill('SIGTERM'));
for (const [c, re] of [
  [jwt, /^ey[^.]+\.[^.]+\.[^.]+$/],
  [opaque, /^lko_/],
]) {
  let res;
  let j;
  for (let i = 0; i < 20; i++) {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c) }, body: 'grant_type=client_credentials' });
    j = await res.json();
    if (res.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (res.status !== 200 || !re.test(j.access_token)) {
    server.kill('SIGTERM');
    await dropDb();
    throw new Error(`unexpected token response ${res.status}`);
  }
}
await load(jwt, 2); // warm-up (JIT, SQLite page cache)
await load(opaque, 2);
const results = { jwt: [], opaque: [] };
for (let i = 0; i < rounds; i++) {
  for (const [name, c] of [
    ['jwt', jwt],
    ['opaque', opaque],
  ]) {
    const r = await load(c, seconds);
    results[name].push(r);
    console.log(`round ${i + 1} ${name.padEnd(6)} ${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}`);
  }
}
// Introspection (RFC 7662) of one JWT and one opaque token by their own client, same server (--introspect).
const introspection = {};
if (args.includes('--introspect')) {
  const iurl = url.replace('/oauth2/token', '/oauth2/introspect');
  for (const [name, c] of [
    ['jwt', jwt],
    ['opaque', opaque],
  ]) {
    const t = (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c) }, body: 'grant_type=client_credentials' })).json()).access_token;
    const check = await (await fetch(iurl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c) }, body: `token=${t}` })).json();
    if (check.active !== true) throw new Error('introspection sanity check failed');
    const r = await load(c, seconds, iurl, `token=${t}`);
    introspection[name] = r;
    console.log(`introspect ${name.padEnd(6)} ${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}`);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mj = median(results.jwt.map((r) => r.rps));
const mo = median(results.opaque.map((r) => r.rps));
console.log(`\nstore ${db.split(':')[0]}, ${connections} connections, ${seconds} s × ${rounds} rounds, pinned: ${hasTaskset}`);
console.log(`median JWT ${mj.toFixed(0)} req/s, opaque ${mo.toFixed(0)} req/s, opaque/JWT = ${(mo / mj).toFixed(2)}`);
const bad = [...results.jwt, ...results.opaque, ...Object.values(introspection)].some((r) => r.non2xx || r.errors);
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(dir, { recursive: true, force: true });
await dropDb();
process.exit(bad ? 1 : 0);
