/**
 * The outbound fetch policy at connect time (SPEC §8, issue #14 item 3) over real TLS: a local HTTPS
 * server whose test CA the fetching process trusts through NODE_EXTRA_CA_CERTS (a child process, since
 * Node reads that variable only at start-up). Internal addresses are refused after DNS resolution and
 * at connect unless `outboundAllow` lets them through; a silent TCP port answers like a closed one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makePki, type Pki } from '../strong-auth/helpers.js';
import { freePort } from '../helpers/harness.js';

const run = promisify(execFile);
const PROBE = fileURLToPath(new URL('./fixtures/fetch-probe.ts', import.meta.url));
/** Latchkey's own issuer in these probes: https and public, so plain http is never allowed. */
const ISSUER = 'https://auth.example.com';

interface Result {
  url: string;
  ok: boolean;
  value?: unknown;
  code?: string;
  message?: string;
  ms: number;
}

describe('outbound fetches at connect time (real TLS, test CA via NODE_EXTRA_CA_CERTS)', () => {
  let pki: Pki;
  let https: HttpsServer;
  let silent: TcpServer;
  const held: Socket[] = [];
  let port = 0;
  let hits = 0;
  let silentPort = 0;
  let closedPort = 0;

  before(async () => {
    pki = makePki();
    https = createHttpsServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
      hits++;
      if (req.url === '/jwks') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      if (req.url === '/redirect') return res.writeHead(302, { location: '/jwks' }).end();
      if (req.url === '/big') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pad: 'x'.repeat(200_000) }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    port = (https.address() as { port: number }).port;
    // Accepts connections and never answers: the port-scanner case.
    silent = createTcpServer((s) => void held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
    closedPort = await freePort();
  });
  after(async () => {
    for (const s of held) s.destroy();
    https.closeAllConnections();
    await new Promise((r) => https.close(r));
    await new Promise((r) => silent.close(r));
    pki.cleanup();
  });

  async function probe(allow: string[], requests: { url: string; timeoutMs?: number; maxBytes?: number }[]): Promise<Result[]> {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', PROBE, JSON.stringify({ issuer: ISSUER, allow, requests })], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: pki.caCert },
      timeout: 60_000,
    });
    return stdout.trim().split('\n').map((l) => JSON.parse(l) as Result);
  }

  it('without outboundAllow: every loopback form is refused before a byte is sent (IP literals directly, names after DNS)', async () => {
    const urls = [
      `https://127.0.0.1:${port}/jwks`,
      `https://localhost:${port}/jwks`,
      `https://[::1]:${port}/jwks`,
      `https://[::ffff:127.0.0.1]:${port}/jwks`,
      `https://2130706433:${port}/jwks`,
      `https://0x7f.0.0.1:${port}/jwks`,
      `https://0177.0.0.1:${port}/jwks`,
      `https://127.1:${port}/jwks`,
      `https://0.0.0.0:${port}/jwks`,
      `http://127.0.0.1:${port}/jwks`,
      `https://user:pw@example.com/jwks`,
    ];
    const results = await probe([], urls.map((url) => ({ url })));
    for (const r of results) {
      assert.equal(r.ok, false, r.url);
      assert.ok(r.code === 'ERR_OUTBOUND_ADDRESS_REFUSED' || r.code === 'ERR_OUTBOUND_URL_REFUSED', `${r.url}: ${r.code} ${r.message}`);
    }
    assert.equal(hits, 0, 'the HTTPS server never saw a request');
  });

  it('a name that resolves to loopback is refused at lookup even when the URL check cannot see it', async () => {
    // "localhost." (trailing dot) and a mixed-case name still resolve to 127.0.0.1 / ::1.
    const [a, b] = await probe([], [{ url: `https://LOCALHOST.:${port}/jwks` }, { url: `https://localhost:${port}/jwks` }]);
    for (const r of [a!, b!]) assert.equal(r.ok, false, `${r.url}: ${r.message}`);
  });

  it('outboundAllow lets exactly the allowed one through, over TLS verified with the test CA; redirects and oversize bodies are refused', async () => {
    const [byName, byIp, redirect, big, other] = await probe(['localhost'], [
      { url: `https://localhost:${port}/jwks` },
      { url: `https://127.0.0.1:${port}/jwks` },
      { url: `https://localhost:${port}/redirect` },
      { url: `https://localhost:${port}/big`, maxBytes: 65536 },
      { url: `https://[::ffff:7f00:1]:${port}/jwks` },
    ]);
    assert.deepEqual([byName!.ok, byName!.value], [true, { keys: [] }], byName!.message);
    assert.equal(byIp!.code, 'ERR_OUTBOUND_URL_REFUSED', 'allowing the name localhost does not allow the address 127.0.0.1');
    assert.deepEqual([redirect!.ok, redirect!.code], [false, 'ERR_OUTBOUND_HTTP_STATUS']);
    assert.match(redirect!.message!, /redirects are not followed/);
    assert.deepEqual([big!.ok, big!.code], [false, 'ERR_OUTBOUND_TOO_LARGE']);
    assert.equal(other!.ok, false);
    const [cidr] = await probe(['127.0.0.0/8'], [{ url: `https://127.0.0.1:${port}/jwks` }]);
    assert.deepEqual([cidr!.ok, cidr!.value], [true, { keys: [] }], cidr!.message);
  });

  it('a silent TCP port is no scanner: refused like a closed one while internal; bounded and the same error when allowed', async () => {
    const refused = await probe([], [
      { url: `https://127.0.0.1:${silentPort}/` },
      { url: `https://127.0.0.1:${closedPort}/` },
      { url: `https://localhost:${silentPort}/` },
      { url: `https://localhost:${closedPort}/` },
    ]);
    for (const r of refused) {
      assert.equal(r.ok, false);
      assert.ok(r.code === 'ERR_OUTBOUND_URL_REFUSED' || r.code === 'ERR_OUTBOUND_ADDRESS_REFUSED', `${r.url}: ${r.code}`);
      assert.ok(r.ms < 1000, `${r.url} answered in ${r.ms} ms: no connection is attempted`);
    }
    // With the address allowed (an internal deployment), the silent port is bounded by the request
    // timeout and says the same as the closed one: the caller learns "could not fetch" either way.
    const [s, c] = await probe(['127.0.0.1'], [
      { url: `https://127.0.0.1:${silentPort}/`, timeoutMs: 800 },
      { url: `https://127.0.0.1:${closedPort}/`, timeoutMs: 800 },
    ]);
    assert.deepEqual([s!.ok, s!.code, c!.ok, c!.code], [false, 'ERR_OUTBOUND_UNREACHABLE', false, 'ERR_OUTBOUND_UNREACHABLE']);
    assert.ok(s!.ms < 2500, `silent port held the fetch ${s!.ms} ms`);
  });
});
