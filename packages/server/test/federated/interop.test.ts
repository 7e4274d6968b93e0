/**
 * Interop for federated clients (issue #18 "Tests"): `@latchkey/client` reading the assertion from a
 * file that is replaced between calls (as the kubelet rotates a projected token), plain `curl`, and
 * `latchkey token --assertion-file`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { TokenClient, assertionFromFile, LatchkeyClientError, OAuthErrorResponse } from '@latchkey/client';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { TrustedIssuerService } from '../../src/management/trusted-issuers.service.js';
import { issuerKey, kubernetesClaims, platformToken, type IssuerKey } from './helpers.js';

const run = promisify(execFile);
const K8S = 'https://kubernetes.default.svc.cluster.local';

describe('federated clients: @latchkey/client, curl, latchkey token --assertion-file', () => {
  let srv: TestServer;
  let key: IssuerKey;
  let dir: string;
  let api: string;
  let batch: string;

  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    key = await issuerKey('ES256');
    await new TrustedIssuerService({ store: srv.services.store, outbound: srv.services.outbound.policy }).add({ name: 'cluster', issuer: K8S, kind: 'kubernetes', jwks: { keys: [key.publicJwk] } }, 'test');
    const fed = async (sa: string) =>
      (await srv.createClient({ scope: 'orders:read', token_endpoint_auth_method: 'federated_jwt', federated_identity: { issuer: 'cluster', subject: `system:serviceaccount:shop:${sa}` } })).client_id;
    api = await fed('api');
    batch = await fed('batch');
    await srv.sync();
    dir = mkdtempSync(join(tmpdir(), 'latchkey-fed-'));
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('@latchkey/client reads the token file fresh on every token request (the file is replaced between calls)', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${await platformToken(key, kubernetesClaims(K8S, srv.issuer, 'shop', 'api'))}\n`);
    const client = new TokenClient({ issuer: srv.issuer, auth: { method: 'federated_jwt', assertion: assertionFromFile(file) } });
    const first = await client.getToken();
    assert.equal(decodeJwt(first.accessToken).client_id, api);
    // The kubelet rotates the file; the next token request sends the new content. (A token of another
    // service account proves which content was sent.)
    writeFileSync(file, await platformToken(key, kubernetesClaims(K8S, srv.issuer, 'shop', 'batch')));
    const second = await client.getToken({ forceRefresh: true });
    assert.equal(decodeJwt(second.accessToken).client_id, batch);
    // An expired token in the file → the server's 401 invalid_client reaches the caller as an OAuth error.
    const t = Math.floor(Date.now() / 1000);
    writeFileSync(file, await platformToken(key, { ...kubernetesClaims(K8S, srv.issuer, 'shop', 'api'), iat: t - 900, nbf: t - 900, exp: t - 300 }));
    await assert.rejects(client.getToken({ forceRefresh: true }), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_client');
    // A missing file is the caller's configuration problem.
    rmSync(file);
    const fresh = new TokenClient({ issuer: srv.issuer, auth: { method: 'federated_jwt', assertion: assertionFromFile(file) } });
    await assert.rejects(fresh.getToken(), (e: LatchkeyClientError) => e.code === 'ERR_INVALID_OPTIONS' && /assertion source failed/.test(e.message));
  });

  it('plain curl exchanges a Kubernetes-shaped token for an access token', async () => {
    const jwt = await platformToken(key, kubernetesClaims(K8S, srv.issuer, 'shop', 'api'));
    const { stdout } = await run('curl', [
      '-sS',
      `${srv.url}/oauth2/token`,
      '-d', 'grant_type=client_credentials',
      '-d', 'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      '-d', `client_assertion=${jwt}`,
    ]);
    const body = JSON.parse(stdout) as { access_token: string; token_type: string; scope: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'orders:read');
    assert.equal(decodeJwt(body.access_token).client_id, api);
  });

  it('latchkey token --assertion-file FILE', async () => {
    const file = join(dir, 'cli-token');
    writeFileSync(file, await platformToken(key, kubernetesClaims(K8S, srv.issuer, 'shop', 'batch')));
    const r = await runCli(['token', '--issuer', srv.issuer, '--assertion-file', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(decodeJwt((JSON.parse(r.stdout) as { access_token: string }).access_token).client_id, batch);
    const missing = await runCli(['token', '--issuer', srv.issuer, '--assertion-file', join(dir, 'nope')]);
    assert.equal(missing.code, 2, 'unusable options');
    assert.match(missing.stderr, /assertion/);
  });
});
