// Discovery (RFC 8414 §3, OpenID Connect Discovery §4) against real HTTP servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoveryUrls, LatchkeyClientError, TokenClient, type TokenClientEvent } from '../src/index.js';

test('discoveryUrls: RFC 8414 inserts the well-known path before the issuer path; OpenID appends it', () => {
  assert.deepEqual(discoveryUrls('https://as.example.com'), [
    'https://as.example.com/.well-known/oauth-authorization-server',
    'https://as.example.com/.well-known/openid-configuration',
  ]);
  assert.deepEqual(discoveryUrls('https://as.example.com/'), [
    'https://as.example.com/.well-known/oauth-authorization-server',
    'https://as.example.com/.well-known/openid-configuration',
  ]);
  assert.deepEqual(discoveryUrls('https://sso.example.com/realms/acme'), [
    'https://sso.example.com/.well-known/oauth-authorization-server/realms/acme',
    'https://sso.example.com/realms/acme/.well-known/openid-configuration',
  ]);
});

async function keycloakLike(opts: { metadataStatus?: number[] } = {}) {
  const seen: string[] = [];
  const statuses = [...(opts.metadataStatus ?? [])];
  let issuer = '';
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/realms/acme/.well-known/openid-configuration') {
        const status = statuses.shift() ?? 200;
        res.statusCode = status;
        return res.end(status === 200 ? JSON.stringify({ issuer, token_endpoint: `${issuer}/protocol/openid-connect/token`, jwks_uri: `${issuer}/certs` }) : '{}');
      }
      if (req.url === '/realms/acme/protocol/openid-connect/token') {
        return res.end(JSON.stringify({ access_token: 'kc-token', token_type: 'Bearer', expires_in: 300 }));
      }
      res.statusCode = 404;
      res.end('{"error":"not found"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/acme`;
  return { issuer, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('an issuer with a path (Keycloak realm) that only serves OpenID configuration', async (t) => {
  const kc = await keycloakLike();
  t.after(() => kc.close());
  const events: TokenClientEvent[] = [];
  const client = new TokenClient({ issuer: kc.issuer, auth: { method: 'client_secret_post', clientId: 'svc', clientSecret: 's' }, onEvent: (e) => events.push(e) });
  const token = await client.getToken();
  assert.equal(token.accessToken, 'kc-token');
  assert.deepEqual(kc.seen, [
    'GET /.well-known/oauth-authorization-server/realms/acme',
    'GET /realms/acme/.well-known/openid-configuration',
    'POST /realms/acme/protocol/openid-connect/token',
  ]);
  assert.equal(events.filter((e) => e.type === 'discovery').length, 1);
  await client.getToken({ scope: 'other' });
  assert.equal(kc.seen.filter((s) => s.startsWith('GET')).length, 2, 'metadata is cached');
});

test('discovery retries a 503 and fails with ERR_DISCOVERY when nothing is found', async (t) => {
  const kc = await keycloakLike({ metadataStatus: [503] });
  t.after(() => kc.close());
  const client = new TokenClient({ issuer: kc.issuer, auth: { method: 'client_secret_post', clientId: 'svc', clientSecret: 's' }, retry: { baseDelayMs: 1 } });
  assert.equal((await client.getToken()).accessToken, 'kc-token');
  const missing = new TokenClient({ issuer: kc.issuer.replace('acme', 'nope'), auth: { method: 'client_secret_post', clientId: 'svc', clientSecret: 's' }, retry: { baseDelayMs: 1 } });
  await assert.rejects(missing.getToken(), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_DISCOVERY' && e.status === 404);
});

test('tokenEndpoint skips discovery entirely', async (t) => {
  const kc = await keycloakLike();
  t.after(() => kc.close());
  const client = new TokenClient({ tokenEndpoint: `${kc.issuer}/protocol/openid-connect/token`, auth: { method: 'client_secret_basic', clientId: 'svc', clientSecret: 's' } });
  assert.equal((await client.getToken()).accessToken, 'kc-token');
  assert.deepEqual(kc.seen, ['POST /realms/acme/protocol/openid-connect/token']);
});
