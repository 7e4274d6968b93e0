#!/usr/bin/env node
// Protected endpoint throughput over real HTTP: the same GET /orders handler behind
//   Fastify + @latchkey/resource, Express + @latchkey/resource, Express + express-oauth2-jwt-bearer,
//   and node:http + @latchkey/resource — each server in its own process, autocannon in this one.
// Every request carries the same valid ES256 token (the steady state of a real API: clients reuse tokens).
//
//   node bench/resource-http.mjs [--quick] [--duration S] [--connections N] [--only express,fastify]
//
// Needs `npm run build` first. Writes bench/results/resource-http-*.json.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { parseArgs } from 'node:util';

const self = fileURLToPath(import.meta.url);
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    serve: { type: 'string' },
    issuer: { type: 'string' },
    audience: { type: 'string' },
  },
});

if (args.serve) {
  await serve(args.serve, args.issuer, args.audience);
} else {
  await main();
}

async function serve(kind, issuer, audience) {
  const { createResourceServer, expressAuth, getAuth, nodeHttpGuard } = await import('@latchkey/resource');
  const handlerBody = (clientId) => JSON.stringify({ orders: [], client: clientId });
  let server;
  if (kind === 'fastify+latchkey') {
    const { default: Fastify } = await import('fastify');
    const { latchkeyFastify } = await import('@latchkey/resource/fastify');
    const app = Fastify();
    await app.register(latchkeyFastify, { resourceServer: createResourceServer({ issuer, audience }), scopes: 'read:orders' });
    app.get('/orders', async (request, reply) => reply.type('application/json').send(handlerBody(request.auth.clientId)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    server = app.server;
  } else if (kind === 'express+latchkey' || kind === 'express+express-oauth2-jwt-bearer') {
    const { default: express } = await import('express');
    const app = express();
    if (kind === 'express+latchkey') {
      app.get('/orders', expressAuth(createResourceServer({ issuer, audience }), { scopes: 'read:orders' }), (req, res) => {
        res.type('application/json').send(handlerBody(getAuth(req).clientId));
      });
    } else {
      const { auth, requiredScopes } = await import('express-oauth2-jwt-bearer');
      app.get('/orders', auth({ issuerBaseURL: issuer, audience, tokenSigningAlg: 'ES256' }), requiredScopes('read:orders'), (req, res) => {
        res.type('application/json').send(handlerBody(req.auth.payload.client_id));
      });
    }
    // Answer errors quietly (Express's default handler would print every stack trace).
    app.use((err, _req, res, _next) => res.status(err.status ?? 500).set(err.headers ?? {}).end());
    server = createServer(app);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
  } else if (kind === 'node:http+latchkey') {
    const guard = nodeHttpGuard(createResourceServer({ issuer, audience }), { scopes: 'read:orders' });
    server = createServer(async (req, res) => {
      const a = await guard(req, res);
      if (!a) return;
      res.setHeader('content-type', 'application/json');
      res.end(handlerBody(a.clientId));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
  } else {
    throw new Error(`unknown server ${kind}`);
  }
  process.send({ port: server.address().port });
}

async function main() {
  const { SignJWT, exportJWK, generateKeyPair } = await import('jose');
  const { default: autocannon } = await import('autocannon');
  const quick = args.quick;
  const duration = Number(args.duration ?? (quick ? 2 : 8));
  const connections = Number(args.connections);
  const audience = 'https://orders.api.example';

  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const issuerServer = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/.well-known/')) res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
    else { res.statusCode = 404; res.end('{}'); }
  });
  await new Promise((r) => issuerServer.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${issuerServer.address().port}`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: issuer, sub: 'c1', client_id: 'c1', aud: audience, iat: now, exp: now + 3600, jti: 'j1', scope: 'read:orders' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
    .sign(privateKey);

  const all = ['fastify+latchkey', 'node:http+latchkey', 'express+latchkey', 'express+express-oauth2-jwt-bearer'];
  const kinds = args.only ? all.filter((k) => args.only.split(',').some((o) => k.includes(o))) : all;
  const results = [];
  for (const kind of kinds) {
    const child = spawn(process.execPath, [self, '--serve', kind, '--issuer', issuer, '--audience', audience], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    const { port } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (c) => reject(new Error(`${kind} exited with ${c}`)));
    });
    const url = `http://127.0.0.1:${port}/orders`;
    // Correctness first: the token works, a tampered one does not, no token gets a challenge.
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const bad = await fetch(url, { headers: { authorization: `Bearer ${token.slice(0, -6)}AAAAAA` } });
    const none = await fetch(url);
    if (ok.status !== 200 || bad.status !== 401 || none.status !== 401) throw new Error(`${kind}: ${ok.status}/${bad.status}/${none.status}`);
    await autocannon({ url, connections, duration: Math.min(1, duration), headers: { authorization: `Bearer ${token}` } }); // warm-up
    const r = await autocannon({ url, connections, duration, headers: { authorization: `Bearer ${token}` } });
    results.push({ server: kind, requestsPerSecond: r.requests.average, latencyP50ms: r.latency.p50, latencyP99ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors });
    child.kill();
    await new Promise((r2) => child.once('exit', r2));
  }
  issuerServer.close();

  console.log(`\nGET /orders with a valid Bearer token, ${connections} connections, ${duration} s — node ${process.version}, ${os.cpus().length} CPU(s), load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  console.log(`${'server'.padEnd(38)}${'req/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'non-2xx'.padStart(9)}`);
  for (const r of results) {
    console.log(`${r.server.padEnd(38)}${Math.round(r.requestsPerSecond).toLocaleString('en-US').padStart(10)}${String(r.latencyP50ms).padStart(9)}${String(r.latencyP99ms).padStart(9)}${String(r.non2xx).padStart(9)}`);
  }
  const outDir = join(dirname(self), 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `resource-http-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ name: 'resource-http', date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), duration, connections, results }, null, 2));
  console.log(`\nwrote ${file}`);
}
