#!/usr/bin/env node
// Access-token verification throughput, in-process, side by side in one run:
//   @latchkey/resource (cached / uncached / full authenticate() path),
//   jose.jwtVerify with the same public key, and express-oauth2-jwt-bearer's middleware.
// Every contender first proves it accepts the token and rejects a tampered one.
//
//   node bench/resource-verify.mjs [--quick] [--duration S] [--repeats N] [--algs ES256,RS256,EdDSA]
//   --quick: ES256 only, 3 × 0.2 s per contender, about 5 s in all (CI smoke run)
//
// Needs `npm run build` first (imports packages/resource/dist). Writes bench/results/resource-verify-*.json.
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, createPublicKey, randomUUID, verify as cryptoVerify } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { auth as expressJwtBearer } from 'express-oauth2-jwt-bearer';
import { createResourceServer } from '@latchkey/resource';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    repeats: { type: 'string' },
    algs: { type: 'string' },
  },
});
const quick = args.quick;
const durationMs = 1000 * Number(args.duration ?? (quick ? 0.2 : 2));
const repeats = Number(args.repeats ?? (quick ? 3 : 5));
const algs = (args.algs ?? (quick ? 'ES256' : 'ES256,RS256,EdDSA')).split(',');
const AUDIENCE = 'https://orders.api.example';

// --- a local issuer: RFC 8414 metadata + JWKS over real HTTP ---------------------------------
const keys = [];
const server = createServer((req, res) => {
  const path = req.url.split('?')[0];
  res.setHeader('content-type', 'application/json');
  if (path === '/.well-known/oauth-authorization-server' || path === '/.well-known/openid-configuration') {
    res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
  } else if (path === '/jwks') {
    res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
  } else {
    res.statusCode = 404;
    res.end('{}');
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${server.address().port}`;

async function makeKey(alg) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const k = { alg, kid, privateKey, publicJwk, publicKey: await importJWK(publicJwk, alg) };
  keys.push(k);
  return k;
}

/** An RFC 9068 token shaped like Latchkey's (same claims, similar sizes). */
function sign(k) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: issuer,
    sub: 'Xz3kQ9vA1bC2dE3fG4hI5w',
    client_id: 'Xz3kQ9vA1bC2dE3fG4hI5w',
    aud: AUDIENCE,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    scope: 'read:orders write:orders',
  })
    .setProtectedHeader({ alg: k.alg, typ: 'at+jwt', kid: k.kid })
    .sign(k.privateKey);
}

function tamper(token) {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  return `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${s}`;
}

// --- measurement ------------------------------------------------------------------------------
// Returns wall-clock ops/s and ops per CPU-second of this process (all threads: WebCrypto work on
// libuv's pool counts too). On a shared, noisy machine the CPU figure is the stable one.
async function rate(fn) {
  let n = 0;
  const batch = 64;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < durationMs) {
    for (let i = 0; i < batch; i++) await fn();
    n += batch;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  return { wall: n / ((t - t0) / 1000), cpu: n / ((c.user + c.system) / 1e6) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function contenders(k, token) {
  const cached = createResourceServer({ issuer, audience: AUDIENCE });
  const uncached = createResourceServer({ issuer, audience: AUDIENCE, cache: false });
  const expressMw = expressJwtBearer({ issuerBaseURL: issuer, audience: AUDIENCE, tokenSigningAlg: k.alg });
  const header = `Bearer ${token}`;
  const request = { method: 'GET', url: `${AUDIENCE}/orders`, headers: { authorization: header, host: 'orders.api.example' } };
  const expressCall = (authorization) =>
    new Promise((resolve, reject) => {
      const req = {
        method: 'GET',
        headers: { authorization, host: 'orders.api.example' },
        protocol: 'https',
        originalUrl: '/orders',
        query: {},
        body: undefined,
        is: () => false,
        get: (h) => (h.toLowerCase() === 'host' ? 'orders.api.example' : undefined),
      };
      expressMw(req, {}, (err) => (err ? reject(err) : resolve(req.auth)));
    });
  // The floor for any verifier: node:crypto's one-shot signature check alone, no parsing, no claim checks.
  const [h, p, s] = token.split('.');
  const signingInput = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const keyObject = createPublicKey({ key: k.publicJwk, format: 'jwk' });
  const rawKey = k.alg.startsWith('ES') ? { key: keyObject, dsaEncoding: 'ieee-p1363' } : k.alg.startsWith('PS') ? { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : keyObject;
  const rawHash = k.alg === 'EdDSA' ? null : `sha${k.alg.slice(2)}`;
  return {
    'latchkey verify (cached)': { run: () => cached.verify(token), check: (t) => cached.verify(t) },
    'latchkey authenticate() (cached)': {
      run: () => cached.authenticate(request),
      check: async (t) => {
        const out = await cached.authenticate({ ...request, headers: { authorization: `Bearer ${t}` } });
        if (!out.ok) throw out.error;
        return out;
      },
    },
    'latchkey verify (uncached)': { run: () => uncached.verify(token), check: (t) => uncached.verify(t) },
    'jose.jwtVerify (same key)': {
      run: () => jwtVerify(token, k.publicKey, { issuer, audience: AUDIENCE, typ: 'at+jwt', algorithms: [k.alg] }),
      check: (t) => jwtVerify(t, k.publicKey, { issuer, audience: AUDIENCE, typ: 'at+jwt', algorithms: [k.alg] }),
    },
    'express-oauth2-jwt-bearer': { run: () => expressCall(header), check: (t) => expressCall(`Bearer ${t}`) },
    'floor: node:crypto signature check only': {
      run: () => cryptoVerify(rawHash, signingInput, rawKey, signature),
      check: async (t) => {
        const [th, tp] = t.split('.');
        if (!cryptoVerify(rawHash, Buffer.from(`${th}.${tp}`), rawKey, signature)) throw new Error('bad signature');
      },
    },
  };
}

const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, platform: `${process.platform}-${process.arch}`, loadavg: os.loadavg() };
const results = [];
for (const alg of algs) {
  const k = await makeKey(alg);
  const token = await sign(k);
  const bad = tamper(token);
  const cs = await contenders(k, token);
  // Correctness first: accept the real token, reject the tampered one.
  for (const [name, c] of Object.entries(cs)) {
    await c.check(token);
    const rejected = await c.check(bad).then(() => false, () => true);
    if (!rejected) throw new Error(`${name} accepted a tampered token`);
  }
  // Rounds interleave the contenders, so a burst of load on a shared machine hits them all alike.
  const runs = Object.fromEntries(Object.keys(cs).map((n) => [n, []]));
  for (const c of Object.values(cs)) await rate(c.run); // warm-up (JIT, caches)
  for (let r = 0; r < repeats; r++) for (const [name, c] of Object.entries(cs)) runs[name].push(await rate(c.run));
  for (const [name, rs] of Object.entries(runs)) {
    results.push({ alg, scenario: name, median: median(rs.map((x) => x.wall)), medianPerCpuSecond: median(rs.map((x) => x.cpu)), runs: rs });
  }
}
server.close();

// --- report -----------------------------------------------------------------------------------
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const metric = process.env.RESOURCE_BENCH_METRIC === 'wall' ? 'median' : 'medianPerCpuSecond';
const get = (alg, s, m = metric) => results.find((r) => r.alg === alg && r.scenario === s)?.[m];
console.log(`\nAccess-token verification, in-process — median of ${repeats} × ${durationMs / 1000} s — node ${process.version}, ${machine.cpus} CPU(s), load ${machine.loadavg.map((l) => l.toFixed(1)).join(' ')}`);
console.log('per CPU-second = ops ÷ CPU time this process used (stable on a shared machine); wall = ops ÷ elapsed time\n');
const names = [...new Set(results.map((r) => r.scenario))];
const width = Math.max(...names.map((n) => n.length)) + 2;
console.log(`${'scenario'.padEnd(width)}${algs.map((a) => `${a}/CPU-s`.padStart(16) + `${a} wall/s`.padStart(16)).join('')}`);
for (const n of names) {
  console.log(`${n.padEnd(width)}${algs.map((a) => fmt(get(a, n, 'medianPerCpuSecond') ?? 0).padStart(16) + fmt(get(a, n, 'median') ?? 0).padStart(16)).join('')}`);
}
const summary = {};
for (const alg of algs) {
  const jose = get(alg, 'jose.jwtVerify (same key)');
  summary[alg] = {
    metric: metric === 'median' ? 'wall-clock ops/s' : 'ops per CPU-second',
    cached_per_s: get(alg, 'latchkey verify (cached)'),
    uncached_per_s: get(alg, 'latchkey verify (uncached)'),
    jose_per_s: jose,
    express_oauth2_jwt_bearer_per_s: get(alg, 'express-oauth2-jwt-bearer'),
    uncached_vs_jose: get(alg, 'latchkey verify (uncached)') / jose,
    cached_vs_jose: get(alg, 'latchkey verify (cached)') / jose,
    raw_signature_check_per_s: get(alg, 'floor: node:crypto signature check only'),
    uncached_vs_raw_signature_check: get(alg, 'latchkey verify (uncached)') / get(alg, 'floor: node:crypto signature check only'),
    raw_signature_check_vs_jose: get(alg, 'floor: node:crypto signature check only') / jose,
    targets: {
      cached_at_least_1M: get(alg, 'latchkey verify (cached)') >= 1_000_000,
      uncached_at_least_1_5x_jose: get(alg, 'latchkey verify (uncached)') >= 1.5 * jose,
    },
  };
  console.log(
    `\n${alg}: uncached = ${summary[alg].uncached_vs_jose.toFixed(2)}× jose.jwtVerify (target ≥ 1.5×: ${summary[alg].targets.uncached_at_least_1_5x_jose ? 'met' : 'NOT met'}); ` +
      `cached = ${fmt(summary[alg].cached_per_s)}/s (target ≥ 1,000,000/s: ${summary[alg].targets.cached_at_least_1M ? 'met' : 'NOT met'}); ` +
      `uncached runs at ${(100 * summary[alg].uncached_vs_raw_signature_check).toFixed(0)}% of the bare signature check, which itself is ${summary[alg].raw_signature_check_vs_jose.toFixed(2)}× jose`,
  );
}
const benchDir = dirname(fileURLToPath(import.meta.url));
const outDir = join(benchDir, 'results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `resource-verify-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ name: 'resource-verify', date: new Date().toISOString(), machine, durationMs, repeats, results, summary }, null, 2));
console.log(`\nwrote ${file}`);
