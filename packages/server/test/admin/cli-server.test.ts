/**
 * `latchkey clients … --server URL` (issue #14 item 6): admin credentials go only to the server the
 * operator named — the metadata's issuer must equal the URL (RFC 8414 §3.3), its token endpoint must be
 * on the same origin, and the URL must be https unless loopback; otherwise exit 2 naming --server and
 * the mismatch, before any credential is sent. Runs the built CLI against fake metadata servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';

interface Fake {
  url: string;
  requests: { method: string; url: string; authorization: string | undefined; body: string }[];
  metadata: Record<string, unknown>;
  server: Server;
}

async function fakeServer(): Promise<Fake> {
  const fake: Fake = { url: '', requests: [], metadata: {}, server: undefined as unknown as Server };
  fake.server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      fake.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      if (req.url === '/.well-known/oauth-authorization-server') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fake.metadata));
        return;
      }
      // A token endpoint that would happily take the credentials.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'stolen', token_type: 'Bearer', expires_in: 60 }));
    });
  });
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

const SECRET = 'lk_admin-secret-that-must-not-leak';
const credentialsSent = (f: Fake) => f.requests.filter((r) => r.authorization !== undefined || r.body.includes('client_credentials') || r.body.includes(SECRET));

describe('CLI --server: where admin credentials may go', () => {
  let a: Fake;
  let b: Fake;
  let srv: TestServer;

  before(async () => {
    [a, b] = await Promise.all([fakeServer(), fakeServer()]);
    srv = await startTestServer();
  });
  after(async () => {
    a.server.close();
    b.server.close();
    await srv.close();
  });

  const listVia = (server: string, extra: string[] = ['--admin-client-id', 'admin', '--admin-client-secret', SECRET]) => runCli(['clients', 'list', '--server', server, ...extra, '--json']);

  it('a token endpoint on another origin → exit 2 naming --server; nothing is sent there', async () => {
    a.metadata = { issuer: a.url, token_endpoint: `${b.url}/oauth2/token` };
    const r = await listVia(a.url);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { error: string; error_description: string };
    assert.equal(out.error, 'invalid_configuration');
    assert.match(out.error_description, /^--server: the metadata's token_endpoint http:\/\/127\.0\.0\.1:\d+ is not on the origin of/);
    assert.deepEqual(b.requests, [], 'the other origin got no request at all');
    assert.deepEqual(credentialsSent(a), []);
    assert.equal((r.stdout + r.stderr).includes(SECRET), false);
  });

  it('metadata naming another issuer → exit 2 naming --server and both values', async () => {
    a.requests.length = 0;
    a.metadata = { issuer: 'https://login.example.com', token_endpoint: `${a.url}/oauth2/token` };
    const r = await listVia(`${a.url}/`);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const d = (JSON.parse(r.stdout) as { error_description: string }).error_description;
    assert.match(d, /^--server: the server's metadata names issuer https:\/\/login\.example\.com, not http:\/\/127\.0\.0\.1:\d+/);
    assert.deepEqual(credentialsSent(a), [], 'no token request was made');
  });

  it('plain http to a non-loopback host → exit 2 before any request (with client credentials or a token)', async () => {
    for (const extra of [undefined, ['--admin-token', 'lk_token-never-sent']]) {
      const t0 = Date.now();
      const r = await listVia('http://192.0.2.10:8080', extra);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match((JSON.parse(r.stdout) as { error_description: string }).error_description, /^--server: must use https:\/\/ \(http:\/\/ only to a loopback host\)/);
      assert.ok(Date.now() - t0 < 30_000);
    }
    const text = await runCli(['clients', 'list', '--server', 'http://user:pw@127.0.0.1:1', '--admin-token', 'x']);
    assert.equal(text.code, 2);
    assert.match(text.stderr, /^latchkey: --server: must not contain credentials/);
  });

  it('the real server (issuer = URL, token endpoint on its origin) still works', async () => {
    const r = await runCli(['clients', 'list', '--server', srv.issuer, '--admin-client-id', srv.admin.client_id, '--admin-client-secret', srv.admin.client_secret, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(Array.isArray((JSON.parse(r.stdout) as { clients: unknown[] }).clients));
  });
});
