#!/usr/bin/env node
// In-process A/B of the OAuth endpoints' own cost (issue #16): no HTTP, no load generator, so a busy
// shared machine disturbs it far less than `run.mjs`. Each root is a built checkout (its
// packages/server/dist); every root runs a real server (SQLite in a temp dir) in THIS process, and the
// endpoints' `handle()` is called with the same request bytes the HTTP benchmark sends. Rounds
// interleave the roots (A B, A B, …); the figure is process CPU (user+sys, incl. GC) per request, median
// of the rounds.
//
//   node bench/endpoint-ab.mjs                                  # this checkout
//   node bench/endpoint-ab.mjs --roots /tmp/before,/tmp/after   # A/B of two builds
//   options: --rounds N (7)  --n REQUESTS per round and case (3000)  --cases token-jwt,token-opaque,introspect
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    roots: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    n: { type: 'string', default: '3000' },
    cases: { type: 'string', default: 'token-jwt,token-opaque,introspect' },
    concurrency: { type: 'string', default: '50' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const roots = (args.roots ?? resolve(here, '..')).split(',').map((r) => resolve(r));
const rounds = Number(args.rounds);
const n = Number(args.n);
const conc = Number(args.concurrency);
const cases = args.cases.split(',');
const FORM = 'grant_type=client_credentials&scope=read%20write';
const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

async function open(root) {
  const m = await import(pathToFileURL(join(root, 'packages/server/dist/index.js')).href);
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-ab-'));
  const config = m.loadConfig({ port: 0, host: '127.0.0.1', issuer: 'http://127.0.0.1:1', dataDir, logLevel: 'warn' }, {});
  const running = await m.startServer(config, { log: m.createLogger('warn') });
  const rt = running.runtime;
  const svc = new m.ClientService(rt);
  const jwt = await svc.create({ client_name: 'ab-jwt', scope: 'read write' }, 'bench');
  const opaque = await svc.create({ client_name: 'ab-opaque', scope: 'read write', access_token_format: 'opaque' }, 'bench');
  await rt.feed.poll();
  const { token, introspection } = running.composed.endpoints;
  const req = (url, authorization, rawBody) => ({
    method: 'POST',
    url: config.issuer + url,
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', host: '127.0.0.1' },
    rawBody,
    remoteAddress: '127.0.0.1',
    clientCertificate: undefined,
  });
  const jwtReq = req('/oauth2/token', basic(jwt.client_id, jwt.client_secret), FORM);
  const opaqueReq = req('/oauth2/token', basic(opaque.client_id, opaque.client_secret), FORM);
  const r = await token.handle(opaqueReq);
  const opaqueToken = JSON.parse(r.body).access_token;
  const introReq = req('/oauth2/introspect', basic(opaque.client_id, opaque.client_secret), `token=${opaqueToken}`);
  const check = (res, what) => {
    if (res.status !== 200 || !(res.body.includes('"access_token"') || res.body.includes('"active":true'))) throw new Error(`${root}: ${what} answered ${res.status} ${res.body}`);
  };
  return {
    root,
    calls: {
      'token-jwt': async () => check(await token.handle(jwtReq), 'token-jwt'),
      'token-opaque': async () => check(await token.handle(opaqueReq), 'token-opaque'),
      introspect: async () => check(await introspection.handle(introReq), 'introspect'),
    },
    async close() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** CPU µs per request for `count` calls, `conc` in flight at a time (so group commit batches as under load). */
async function measure(call, count) {
  const t0 = process.cpuUsage();
  let left = count;
  const worker = async () => {
    while (left-- > 0) await call();
  };
  await Promise.all(Array.from({ length: conc }, worker));
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / count;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const servers = [];
for (const root of roots) servers.push(await open(root));
const results = new Map();
for (const s of servers) for (const c of cases) await measure(s.calls[c], Math.min(n, 1000)); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    for (const s of servers) {
      const k = `${s.root}\t${c}`;
      if (!results.has(k)) results.set(k, []);
      results.get(k).push(await measure(s.calls[c], n));
    }
  }
}
console.log(`| case | ${roots.map((r) => r.split('/').pop()).join(' | ')} | ${roots.length === 2 ? 'B/A |' : ''}`);
console.log(`|---|${roots.map(() => '---').join('|')}|${roots.length === 2 ? '---|' : ''}`);
for (const c of cases) {
  const ms = roots.map((r) => median(results.get(`${r}\t${c}`)));
  const all = roots.map((r) => results.get(`${r}\t${c}`).map((x) => x.toFixed(1)).join(' '));
  console.log(`| ${c} (CPU µs/req, median of ${rounds}) | ${ms.map((m) => m.toFixed(1)).join(' | ')} | ${ms.length === 2 ? (ms[1] / ms[0]).toFixed(2) + '× |' : ''}`);
  console.error(`# ${c}: ${all.join('  ||  ')}`);
}
for (const s of servers) await s.close();
