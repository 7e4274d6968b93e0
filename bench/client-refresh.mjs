#!/usr/bin/env node
// What refresh-ahead buys: getToken() latency seen by callers across token expiries, with an
// authorization server that takes 50 ms to answer and issues 2 s tokens, with refresh-ahead on
// (the default) and off. Also counts token requests (single-flight: one per renewal, not per caller).
//
//   npm run build && node bench/client-refresh.mjs [--quick]
//
// Writes bench/results/client-refresh.json.
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

const AS_LATENCY_MS = 50;
const TOKEN_TTL_S = 2;
const DURATION_MS = quick ? 4_500 : 10_500;
const CALLERS = 20;

let tokenRequests = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/oauth-authorization-server') return res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token` }));
    tokenRequests += 1;
    setTimeout(() => res.end(JSON.stringify({ access_token: randomBytes(24).toString('base64url'), token_type: 'Bearer', expires_in: TOKEN_TTL_S })), AS_LATENCY_MS);
  });
});
server.keepAliveTimeout = 60_000;
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${server.address().port}`;
const auth = { method: 'client_secret_basic', clientId: 'bench', clientSecret: 'secret' };

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function run(name, options) {
  const client = new TokenClient({ issuer, auth, ...options });
  await client.getToken(); // the first token is fetched before measuring: only renewals are compared
  const before = tokenRequests;
  const latencies = [];
  let expiredHandedOut = 0;
  const deadline = Date.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        const token = await client.getToken();
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (token.expiresAt <= Date.now()) expiredHandedOut += 1;
        await new Promise((r) => setTimeout(r, 1));
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const row = {
    name,
    calls: latencies.length,
    token_requests: tokenRequests - before,
    p50_ms: +pct(latencies, 50).toFixed(3),
    p99_ms: +pct(latencies, 99).toFixed(3),
    p999_ms: +pct(latencies, 99.9).toFixed(3),
    max_ms: +latencies.at(-1).toFixed(3),
    calls_waiting_over_10ms: latencies.filter((l) => l > 10).length,
    expired_tokens_handed_out: expiredHandedOut,
  };
  console.log(
    `${name.padEnd(34)} calls ${String(row.calls).padStart(6)}  token requests ${String(row.token_requests).padStart(3)}  p50 ${row.p50_ms} ms  p99 ${row.p99_ms} ms  max ${row.max_ms} ms  >10ms ${row.calls_waiting_over_10ms}  expired ${row.expiredHandedOut ?? row.expired_tokens_handed_out}`,
  );
  return row;
}

const rows = [
  await run('refresh-ahead (default)', {}),
  await run('refresh-ahead off', { refreshAheadSeconds: 0, refreshJitter: 0 }),
];
server.close();
const result = {
  benchmark: 'client-refresh',
  quick,
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadavg_at_start: loadAtStart,
  setup: { as_latency_ms: AS_LATENCY_MS, token_ttl_s: TOKEN_TTL_S, duration_ms: DURATION_MS, concurrent_callers: CALLERS },
  results: rows,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'client-refresh.json'), JSON.stringify(result, null, 2) + '\n');
console.log('wrote bench/results/client-refresh.json');
