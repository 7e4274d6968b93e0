/**
 * `latchkey trust add|update|list|show|remove` and `latchkey clients create --federated-*` (SPEC §9), run as
 * the real built CLI against the store of a running server, which picks the changes up by itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { INVALID_CLIENT, JWT_BEARER, JWT_SPIFFE, issuerKey, kubernetesClaims, platformToken, type IssuerKey } from './helpers.js';

const K8S = 'https://container.googleapis.com/v1/projects/p/locations/europe-west1/clusters/c1';

describe('latchkey trust / clients create --federated-*', () => {
  let srv: TestServer;
  let dir: string;
  let key: IssuerKey;
  let spiffeKey: IssuerKey;
  const cli = (...args: string[]) => runCli([...args, '--data-dir', srv.dataDir]);

  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    dir = mkdtempSync(join(tmpdir(), 'latchkey-trust-'));
    [key, spiffeKey] = await Promise.all([issuerKey('ES256'), issuerKey('ES256')]);
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [key.publicJwk] }));
    writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ spiffe_sequence: 1, keys: [{ ...spiffeKey.publicJwk, use: 'jwt-svid' }] }));
    writeFileSync(join(dir, 'private.json'), JSON.stringify({ keys: [{ ...key.publicJwk, d: 'AAAA' }] }));
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trust add (Kubernetes key file) → list → show; a federated client created by the CLI gets tokens from the running server', async () => {
    const add = await cli('trust', 'add', 'gke', '--kind', 'kubernetes', '--issuer', K8S, '--jwks-file', join(dir, 'jwks.json'), '--max-assertion-lifetime', '7200', '--json');
    assert.equal(add.code, 0, add.stderr);
    const added = JSON.parse(add.stdout) as Record<string, unknown>;
    assert.deepEqual([added.name, added.kind, added.issuer, added.keys_from, added.max_assertion_lifetime, added.single_use], ['gke', 'kubernetes', K8S, 'file', 7200, false]);
    const list = JSON.parse((await cli('trust', 'list', '--json')).stdout) as { name: string }[];
    assert.deepEqual(list.map((t) => t.name), ['gke']);

    const c = await cli('clients', 'create', '--name', 'api', '--scope', 'orders:read', '--federated-issuer', 'gke', '--federated-subject', 'system:serviceaccount:shop:api', '--federated-claim', 'kubernetes.io.namespace=shop', '--json');
    assert.equal(c.code, 0, c.stderr);
    const client = JSON.parse(c.stdout) as Record<string, unknown>;
    assert.equal(client.token_endpoint_auth_method, 'federated_jwt');
    assert.equal(client.client_secret, undefined);
    assert.deepEqual(client.federated_identity, { issuer: 'gke', subject: 'system:serviceaccount:shop:api', claims: { 'kubernetes.io.namespace': 'shop' } });
    const show = JSON.parse((await cli('trust', 'show', 'gke', '--json')).stdout) as Record<string, unknown>;
    assert.equal(show.federated_clients, 1);

    const dup = await cli('clients', 'create', '--name', 'api2', '--federated-issuer', 'gke', '--federated-subject', 'system:serviceaccount:shop:api');
    assert.equal(dup.code, 2, 'refused metadata is a bad argument (SPEC §4)');
    assert.equal(dup.stderr.trim(), 'latchkey: federated_identity: another client is already mapped to this issuer and subject');

    await srv.sync();
    const t = await platformToken(key, kubernetesClaims(K8S, srv.issuer, 'shop', 'api'), { lifetime: 5400 });
    const r = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: t });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(decodeJwt(r.json.access_token as string).client_id, client.client_id);

    // trust remove: the running server refuses the issuer's tokens within 1 s, without a restart.
    const rm = await cli('trust', 'remove', 'gke', '--json');
    assert.equal(rm.code, 0, rm.stderr);
    const t0 = Date.now();
    let last = r;
    while (Date.now() - t0 < 1000 && last.status === 200) {
      await new Promise((res) => setTimeout(res, 50));
      last = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: t });
    }
    assert.deepEqual([last.status, last.json], [401, INVALID_CLIENT]);
  });

  it('trust add --trust-domain --bundle-file (SPIFFE) → a JWT-SVID authenticates its client', async () => {
    const add = await cli('trust', 'add', 'prod-td', '--trust-domain', 'spiffe://prod.example.org', '--bundle-file', join(dir, 'bundle.json'), '--json');
    assert.equal(add.code, 0, add.stderr);
    assert.equal((JSON.parse(add.stdout) as { kind: string }).kind, 'spiffe');
    const c = JSON.parse((await cli('clients', 'create', '--name', 'worker', '--scope', 'a', '--federated-issuer', 'prod-td', '--federated-subject', 'spiffe://prod.example.org/worker', '--json')).stdout) as { client_id: string };
    await srv.sync();
    const svid = await platformToken(spiffeKey, { sub: 'spiffe://prod.example.org/worker', aud: srv.issuer }, { lifetime: 300 });
    const r = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: JWT_SPIFFE, client_assertion: svid, client_id: c.client_id });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('trust update --jwks-file: a rotated cluster key works on the running server within 1 s, the old one stops; no gap, clients stay', async () => {
    const rotated = await issuerKey('ES256');
    writeFileSync(join(dir, 'rotated.json'), JSON.stringify({ keys: [rotated.publicJwk] }));
    assert.equal((await cli('trust', 'add', 'eks', '--kind', 'kubernetes', '--issuer', `${K8S}/eks`, '--jwks-file', join(dir, 'jwks.json'))).code, 0);
    const c = JSON.parse((await cli('clients', 'create', '--name', 'rot', '--scope', 'a', '--federated-issuer', 'eks', '--federated-subject', 'system:serviceaccount:shop:rot', '--json')).stdout) as { client_id: string };
    await srv.sync();
    const exchange = async (k: IssuerKey) =>
      postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: await platformToken(k, kubernetesClaims(`${K8S}/eks`, srv.issuer, 'shop', 'rot')) });
    assert.equal((await exchange(key)).status, 200);
    assert.equal((await exchange(rotated)).status, 401);

    const up = await cli('trust', 'update', 'eks', '--jwks-file', join(dir, 'rotated.json'), '--single-use', '--json');
    assert.equal(up.code, 0, up.stderr);
    const updated = JSON.parse(up.stdout) as Record<string, unknown>;
    assert.deepEqual([updated.issuer, updated.kind, updated.keys_from, updated.single_use], [`${K8S}/eks`, 'kubernetes', 'file', true]);
    const t0 = Date.now();
    let r = await exchange(rotated);
    while (Date.now() - t0 < 1000 && r.status !== 200) {
      await new Promise((res) => setTimeout(res, 50));
      r = await exchange(rotated);
    }
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(decodeJwt(r.json.access_token as string).client_id, c.client_id, 'the same client, still attached');
    assert.deepEqual([(await exchange(key)).status], [401], 'the old key is refused');
    assert.equal((JSON.parse((await cli('trust', 'show', 'eks', '--json')).stdout) as { federated_clients: number }).federated_clients, 1);
    const audit = JSON.parse((await cli('audit', '--json')).stdout) as { action: string; target: string }[];
    assert.ok(audit.some((a) => a.action === 'trusted_issuer.update' && a.target === 'trusted-issuer:eks'));
  });

  it('operator mistakes: one line naming the problem, non-zero exit, nothing stored', async () => {
    const cases: [string[], RegExp][] = [
      [['trust', 'add', 'bad', '--issuer', K8S, '--jwks-file', join(dir, 'private.json')], /^latchkey: jwks: /],
      [['trust', 'add', 'bad', '--issuer', K8S, '--jwks-file', join(dir, 'missing.json')], /^latchkey: --jwks-file: cannot read .*ENOENT/],
      [['trust', 'add', 'bad', '--issuer', K8S, '--jwks-uri', 'https://10.0.0.7/keys'], /^latchkey: jwks_uri: host 10\.0\.0\.7 is private \(RFC 1918\) \(allow it with outboundAllow\)$/],
      [['trust', 'add', 'bad', '--issuer', 'https://localhost/'], /^latchkey: issuer: its discovery document cannot be fetched: host localhost is loopback/],
      [['trust', 'add', 'bad bad', '--issuer', K8S, '--jwks-file', join(dir, 'jwks.json')], /^latchkey: name: must match/],
      [['trust', 'show', 'nope'], /^latchkey: no trusted issuer named nope$/],
      [['trust', 'remove', 'nope'], /^latchkey: no such trusted issuer$/],
      [['clients', 'create', '--name', 'x', '--federated-issuer', 'nope', '--federated-subject', 's'], /^latchkey: federated_identity\.issuer: no trusted issuer named "nope"/],
      [['clients', 'create', '--name', 'x', '--federated-subject', 's'], /^latchkey: --federated-issuer and --federated-subject go together$/],
      [['trust', 'update', 'nope', '--jwks-file', join(dir, 'jwks.json')], /^latchkey: no such trusted issuer$/],
      [['trust', 'update', 'prod-td'], /^latchkey: nothing to change/],
      [['trust', 'update', 'prod-td', '--jwks-file', join(dir, 'jwks.json'), '--discovery'], /^latchkey: give one of --jwks-uri, --jwks-file, --bundle-file, --discovery$/],
      [['trust', 'update', 'prod-td', '--discovery'], /^latchkey: jwks: a SPIFFE trust domain needs a bundle/],
      [['trust', 'update', 'prod-td', '--bundle-file', join(dir, 'private.json')], /^latchkey: jwks: /],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(...args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(r.stderr.trim(), msg, args.join(' '));
    }
    const list = JSON.parse((await cli('trust', 'list', '--json')).stdout) as { name: string }[];
    assert.ok(!list.some((t) => t.name === 'bad'));
  });
});
