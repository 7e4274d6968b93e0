#!/usr/bin/env node
// Cost of a cached TokenClient.getToken() call (ns/op), next to the floor (awaiting an empty async
// function) and to what caching saves (a token request per call, over loopback HTTP).
//
//   npm run build && node bench/client-gettoken.mjs [--quick]
//
// Writes bench/results/client-gettoken.json. Median of repeats; each repeat times a batch of calls.
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { randomBytes } from 'node:crypto';

const quick = process.argv.includes('--quick');
const loadAtStart = os.loadavg();
const here = dirname(fileURLToPath(import.meta.url));
const { TokenClient } = await import(join(here, '..', 'packages', 'client', 'dist', 'index.js')).catch(() => {
  console.error('build first: npm run build');
  process.exit(2);
});

// A minimal real authorization server on loopback: metadata + token endpoint.
let tokenRequests = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/oauth-authorization-server') return res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token` }));
    tokenRequests += 1;
    res.end(JSON.stringify({ access_token: randomBytes(24).toString('base64url'), token_type: req.headers.dpop ? 'DPoP' : 'Bearer', expires_in: 3600 }));
  });
});
server.keepAliveTimeout = 60_000;
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${server.address().port}`;
const auth = { method: 'client_secret_basic', clientId: 'bench', clientSecret: 'secret' };

const bearer = new TokenClient({ issuer, auth, scope: 'a b' });
const dpop = new TokenClient({ issuer, auth, dpop: true });
// Default retries: a pooled keep-alive connection the server already closed shows up as ECONNRESET.
const uncached = new TokenClient({ issuer, auth });
await bearer.getToken();
await bearer.getToken({ scope: 'b a' });
await dpop.getToken();
await uncached.getToken();

const emptyAsync = async () => undefined;
const REPEATS = quick ? 5 : 15;
const cases = [
  { name: 'floor: await an empty async function', iterations: quick ? 200_000 : 2_000_000, fn: () => emptyAsync() },
  { name: 'cached getToken()', iterations: quick ? 200_000 : 2_000_000, fn: () => bearer.getToken() },
  { name: "cached getToken({ scope: 'b a' })", iterations: quick ? 200_000 : 1_000_000, fn: () => bearer.getToken({ scope: 'b a' }) },
  { name: 'cached authorizationHeaders() (Bearer)', iterations: quick ? 100_000 : 1_000_000, fn: () => bearer.authorizationHeaders('GET', 'https://api.example.com/x') },
  { name: 'cached authorizationHeaders() with a DPoP proof', iterations: quick ? 500 : 5_000, fn: () => dpop.authorizationHeaders('GET', 'https://api.example.com/x') },
  { name: 'no cache: one token request per call (loopback HTTP)', iterations: quick ? 50 : 300, fn: () => uncached.getToken({ forceRefresh: true }) },
];

async function batch(fn, n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - start) / n;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (const c of cases) {
  await batch(c.fn, Math.max(10, Math.floor(c.iterations / 10))); // warm-up (JIT)
  const samples = [];
  for (let r = 0; r < REPEATS; r++) samples.push(await batch(c.fn, c.iterations));
  const ns = median(samples);
  const row = {
    name: c.name,
    ns_per_op: Math.round(ns * 10) / 10,
    ops_per_sec: Math.round(1e9 / ns),
    min_ns: Math.round(Math.min(...samples) * 10) / 10,
    max_ns: Math.round(Math.max(...samples) * 10) / 10,
    iterations: c.iterations,
    repeats: REPEATS,
  };
  rows.push(row);
  console.log(`${c.name.padEnd(56)} ${String(row.ns_per_op).padStart(12)} ns/op  (min ${row.min_ns}, max ${row.max_ns}; ${REPEATS}×${c.iterations})`);
}

const cachedRequests = tokenRequests;
server.close();
const result = {
  benchmark: 'client-gettoken',
  quick,
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cpus: os.cpus().length,
  loadavg_at_start: loadAtStart,
  method: 'median over repeats of (elapsed / iterations) for a sequential `await fn()` loop; warm-up batch first',
  token_requests_made: cachedRequests,
  results: rows,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'client-gettoken.json'), JSON.stringify(result, null, 2) + '\n');
console.log(`wrote bench/results/client-gettoken.json`);
