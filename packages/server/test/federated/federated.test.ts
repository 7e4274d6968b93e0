/**
 * Federated client authentication (SPEC §9, issue #18) over real HTTP, on SQLite and PostgreSQL, with
 * fake issuers we run ourselves: a Kubernetes cluster (keys from a file, as `kubectl get --raw
 * /openid/v1/jwks` gives them), GitHub Actions (keys from OIDC discovery on a node:http server) and a
 * SPIFFE trust domain (a bundle with `use: "jwt-svid"` keys).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt } from 'jose';
import { pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { TrustedIssuerService } from '../../src/management/trusted-issuers.service.js';
import { ClientService } from '../../src/management/clients.service.js';
import { FakeIssuer, INVALID_CLIENT, JWT_BEARER, JWT_SPIFFE, githubClaims, issuerKey, kubernetesClaims, now, platformToken, unsecuredToken, type IssuerKey } from './helpers.js';

const K8S_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const K8S_SUB = 'system:serviceaccount:payments:api';
const GH_SUB = 'repo:acme/deploy:environment:prod';
const SPIFFE_SUB = 'spiffe://example.org/ns/prod/sa/worker';

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`federated clients (SPEC §9) — ${store}`, async () => {
    const skip = store === 'postgres' && !(await pgAvailable());
    let srv: TestServer;
    let issuers: TrustedIssuerService;
    let gh: FakeIssuer;
    let k8sKey: IssuerKey;
    let ghKey: IssuerKey;
    let spiffeKey: IssuerKey;
    let onceKey: IssuerKey;
    const ids: Record<'k8s' | 'gh' | 'spiffe' | 'once', string> = { k8s: '', gh: '', spiffe: '', once: '' };

    before(async () => {
      if (skip) return;
      // Negative tests fail many times from one address: the brute-force limiter stays out of the way.
      // outboundAllow: the fake GitHub issuer listens on loopback, which the outbound policy refuses by default.
      srv = await startTestServer({ store, config: { rateLimitFailures: 1_000_000, outboundAllow: ['127.0.0.1'], jwksRefreshCooldown: 1 } });
      issuers = new TrustedIssuerService({ store: srv.services.store, outbound: srv.services.outbound.policy });
      [k8sKey, ghKey, spiffeKey, onceKey] = await Promise.all([issuerKey('ES256'), issuerKey('RS256'), issuerKey('ES256'), issuerKey('EdDSA')]);
      gh = await new FakeIssuer().start();
      gh.keys = [ghKey.publicJwk];
      await issuers.add({ name: 'cluster', issuer: K8S_ISSUER, kind: 'kubernetes', jwks: { keys: [k8sKey.publicJwk] } }, 'test');
      await issuers.add({ name: 'actions', issuer: gh.url, kind: 'github' }, 'test');
      await issuers.add({ name: 'spire', issuer: 'spiffe://example.org', kind: 'spiffe', jwks: { keys: [{ ...spiffeKey.publicJwk, use: 'jwt-svid' }] } }, 'test');
      await issuers.add({ name: 'once', issuer: 'https://once.example', jwks: { keys: [onceKey.publicJwk] }, single_use: true, max_assertion_lifetime: 300 }, 'test');
      const fed = (issuer: string, subject: string, claims?: Record<string, string>) =>
        srv.createClient({ scope: 'a', token_endpoint_auth_method: 'federated_jwt', federated_identity: { issuer, subject, ...(claims ? { claims } : {}) } });
      ids.k8s = (await fed('cluster', K8S_SUB, { 'kubernetes.io.namespace': 'payments' })).client_id;
      ids.gh = (await fed('actions', GH_SUB, { repository: 'acme/deploy', environment: 'prod', ref: 'refs/heads/main' })).client_id;
      ids.spiffe = (await fed('spire', SPIFFE_SUB)).client_id;
      ids.once = (await fed('once', 'batch-job')).client_id;
      await srv.sync();
    });
    after(async () => {
      if (skip) return;
      await srv.close();
      await gh.stop();
    });

    const exchange = (assertion: string, extra: Record<string, string> = {}, type = JWT_BEARER) =>
      postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: type, client_assertion: assertion, ...extra });
    const k8sToken = (over: Record<string, unknown> = {}, opts: Parameters<typeof platformToken>[2] = {}, key = k8sKey) =>
      platformToken(key, { ...kubernetesClaims(K8S_ISSUER, srv.issuer, 'payments', 'api'), ...over }, opts);
    const ghToken = (over: Record<string, unknown> = {}, opts: Parameters<typeof platformToken>[2] = {}, key = ghKey) =>
      platformToken(key, { ...githubClaims(gh.url, srv.issuer, 'acme/deploy', 'prod'), ...over }, opts);
    const svid = (over: Record<string, unknown> = {}) => platformToken(spiffeKey, { sub: SPIFFE_SUB, aud: [srv.issuer], ...over }, { lifetime: 300, header: { typ: 'JWT' } });
    async function issued(res: Awaited<ReturnType<typeof postForm>>, clientId: string) {
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.token_type, 'Bearer');
      const at = decodeJwt(res.json.access_token as string);
      assert.equal(at.client_id, clientId);
      assert.equal(at.sub, clientId);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    const refused = (res: Awaited<ReturnType<typeof postForm>>, why: string) => assert.deepEqual({ status: res.status, body: res.json }, { status: 401, body: INVALID_CLIENT }, why);

    it('a Kubernetes-shaped token (keys from a file) gets a token for its client, with and without client_id; it is reusable', { skip }, async () => {
      const t = await k8sToken();
      await issued(await exchange(t), ids.k8s);
      await issued(await exchange(t, { client_id: ids.k8s }), ids.k8s);
      // A projected token is refreshed by the kubelet, not per request: reuse within its lifetime is by design.
      await issued(await exchange(t), ids.k8s);
    });

    it('a GitHub-shaped token (keys from OIDC discovery) with claim conditions gets a token, with and without client_id', { skip }, async () => {
      await issued(await exchange(await ghToken()), ids.gh);
      await issued(await exchange(await ghToken(), { client_id: ids.gh }), ids.gh);
      assert.ok(gh.hits.discovery >= 1 && gh.hits.jwks >= 1, 'keys came from discovery → jwks_uri');
    });

    it('a SPIFFE JWT-SVID (client_assertion_type jwt-spiffe, no iss) gets a token, with and without client_id', { skip }, async () => {
      await issued(await exchange(await svid(), {}, JWT_SPIFFE), ids.spiffe);
      await issued(await exchange(await svid(), { client_id: ids.spiffe }, JWT_SPIFFE), ids.spiffe);
    });

    it('introspection and revocation accept the same client authentication', { skip }, async () => {
      const res = await exchange(await k8sToken());
      const at = res.json.access_token as string;
      const intro = await postForm(`${srv.url}/oauth2/introspect`, { token: at, client_assertion_type: JWT_BEARER, client_assertion: await k8sToken() });
      assert.equal(intro.status, 200);
      assert.equal(intro.json.active, true);
      assert.equal(intro.json.client_id, ids.k8s);
    });

    it('refused with 401 invalid_client (same body every time)', { skip }, async () => {
      const t = now();
      const stranger = await issuerKey('ES256', k8sKey.kid); // same kid, key the issuer does not publish
      const cases: [string, () => Promise<Awaited<ReturnType<typeof postForm>>>][] = [
        ['wrong sub', async () => exchange(await platformToken(k8sKey, kubernetesClaims(K8S_ISSUER, srv.issuer, 'payments', 'other')))],
        ['claim condition not met (namespace)', async () => exchange(await k8sToken({ 'kubernetes.io': { namespace: 'default' } }))],
        ['claim condition not met (environment)', async () => exchange(await ghToken({ environment: 'staging' }))],
        ['claim condition not met (repository)', async () => exchange(await ghToken({ repository: 'evil/deploy' }))],
        ['claim condition not met (ref)', async () => exchange(await ghToken({ ref: 'refs/heads/feature' }))],
        ['aud another value', async () => exchange(await k8sToken({ aud: ['https://kubernetes.default.svc'] }))],
        ['aud the token endpoint URL', async () => exchange(await k8sToken({ aud: `${srv.issuer}/oauth2/token` }))],
        ['aud the issuer and another value', async () => exchange(await k8sToken({ aud: [srv.issuer, 'https://api.example.com'] }))],
        ['aud missing', async () => exchange(await k8sToken({ aud: undefined }))],
        ['expired', async () => exchange(await k8sToken({ iat: t - 900, nbf: t - 900, exp: t - 120 }))],
        ['exp − iat over the max assertion lifetime', async () => exchange(await k8sToken({ iat: t, exp: t + 3601 }))],
        ['iat missing', async () => exchange(await k8sToken({ iat: undefined }))],
        ['nbf in the future', async () => exchange(await k8sToken({ nbf: t + 600 }))],
        ['signed by a key the issuer does not publish (same kid)', async () => exchange(await k8sToken({}, {}, stranger))],
        ['signed by a key the issuer does not publish (unknown kid, remote keys)', async () => exchange(await ghToken({}, {}, stranger))],
        ['alg none', async () => exchange(unsecuredToken({ ...kubernetesClaims(K8S_ISSUER, srv.issuer, 'payments', 'api'), iat: t, exp: t + 60 }, k8sKey.kid))],
        [
          'alg HS256 (the public key as an HMAC secret)',
          async () =>
            exchange(
              await new SignJWT({ ...kubernetesClaims(K8S_ISSUER, srv.issuer, 'payments', 'api'), iat: t, exp: t + 60 })
                .setProtectedHeader({ alg: 'HS256', kid: k8sKey.kid })
                .sign(new TextEncoder().encode(JSON.stringify(k8sKey.publicJwk))),
            ),
        ],
        ['an issuer that is not trusted', async () => exchange(await platformToken(k8sKey, kubernetesClaims('https://evil.example', srv.issuer, 'payments', 'api')))],
        ['typ at+jwt (an access token, not a client credential)', async () => exchange(await k8sToken({}, { header: { typ: 'at+jwt' } }))],
        ['a key-locating header (jwk)', async () => exchange(await k8sToken({}, { header: { jwk: k8sKey.publicJwk } }))],
        ['client_id naming another client', async () => exchange(await k8sToken(), { client_id: ids.gh })],
        ['jwt-spiffe with a SPIFFE ID of an untrusted trust domain', async () => exchange(await svid({ sub: 'spiffe://evil.org/ns/prod/sa/worker' }), {}, JWT_SPIFFE)],
        ['jwt-spiffe with a sub that is not a SPIFFE ID', async () => exchange(await svid({ sub: 'worker' }), {}, JWT_SPIFFE)],
        ['a Kubernetes token sent as jwt-spiffe', async () => exchange(await k8sToken(), {}, JWT_SPIFFE)],
        ['a SPIFFE JWT-SVID sent as jwt-bearer', async () => exchange(await svid())],
      ];
      for (const [why, send] of cases) refused(await send(), why);
    });

    it('a single-use issuer refuses a replayed jti; its tokens without jti still work', { skip }, async () => {
      const t = await platformToken(onceKey, { iss: 'https://once.example', sub: 'batch-job', aud: srv.issuer, jti: 'one-time' }, { lifetime: 120 });
      await issued(await exchange(t), ids.once);
      refused(await exchange(t), 'replayed jti');
      const noJti = await platformToken(onceKey, { iss: 'https://once.example', sub: 'batch-job', aud: srv.issuer }, { lifetime: 120 });
      await issued(await exchange(noJti), ids.once);
      refused(await exchange(await platformToken(onceKey, { iss: 'https://once.example', sub: 'batch-job', aud: srv.issuer }, { lifetime: 301 })), 'this issuer allows 300 s');
    });

    it('issuer key rotation (a new kid published) is picked up; a flood of unknown kids costs one fetch per cool-down', { skip }, async () => {
      await issued(await exchange(await ghToken()), ids.gh);
      await new Promise((r) => setTimeout(r, 1100)); // past the 1 s cool-down of the earlier fetches
      const before = gh.hits.jwks;
      const stranger = await issuerKey('ES256');
      const tokens = await Promise.all(Array.from({ length: 30 }, () => ghToken({}, { header: { kid: randomUUID() } }, stranger)));
      const flood = await Promise.all(tokens.map((t) => exchange(t)));
      for (const r of flood) refused(r, 'unknown kid');
      assert.ok(gh.hits.jwks - before <= 1, `30 unknown kids → ${gh.hits.jwks - before} JWKS fetches (at most 1 per cool-down)`);
      const rotated = await issuerKey('ES256');
      gh.keys = [ghKey.publicJwk, rotated.publicJwk];
      await new Promise((r) => setTimeout(r, 1100));
      await issued(await exchange(await ghToken({}, {}, rotated)), ids.gh);
      await issued(await exchange(await ghToken()), ids.gh);
    });

    it('a disabled federated client is refused', { skip }, async () => {
      const svc = new ClientService(srv.services);
      await svc.setDisabled(ids.spiffe, true, 'test');
      await srv.sync();
      refused(await exchange(await svid(), {}, JWT_SPIFFE), 'disabled');
      await svc.setDisabled(ids.spiffe, false, 'test');
      await srv.sync();
      await issued(await exchange(await svid(), {}, JWT_SPIFFE), ids.spiffe);
    });

    it('registration rules: one client per (issuer, subject); federated_identity exclusive with keys; issuer must be trusted', { skip }, async () => {
      const svc = new ClientService(srv.services);
      const create = (meta: Record<string, unknown>) => svc.create({ scope: 'a', token_endpoint_auth_method: 'federated_jwt', ...meta }, 'test');
      const field = (f: string, msg: RegExp) => (e: { error?: string; field?: string; message: string }) => e.error === 'invalid_client_metadata' && e.field === f && msg.test(e.message);
      await assert.rejects(create({ federated_identity: { issuer: 'cluster', subject: K8S_SUB } }), field('federated_identity', /already mapped/));
      await assert.rejects(create({ federated_identity: { issuer: 'nope', subject: 'x' } }), field('federated_identity.issuer', /no trusted issuer/));
      await assert.rejects(create({}), field('federated_identity', /needs federated_identity/));
      await assert.rejects(create({ federated_identity: { issuer: 'cluster', subject: 'y' }, jwks_uri: 'https://keys.example.com/jwks' }), field('federated_identity', /no jwks/));
      await assert.rejects(svc.create({ scope: 'a', federated_identity: { issuer: 'cluster', subject: 'z' } }, 'test'), field('federated_identity', /only with/));
      await assert.rejects(create({ federated_identity: { issuer: 'cluster', subject: 'w', claims: { aud: 'x' } } }), field('federated_identity.claims', /cannot be conditions/));
      const other = await create({ federated_identity: { issuer: 'cluster', subject: 'system:serviceaccount:payments:other' } });
      await assert.rejects(svc.update(other.client_id as string, { federated_identity: { issuer: 'cluster', subject: K8S_SUB } }, 'test'), field('federated_identity', /already mapped/));
      await svc.delete(other.client_id as string, 'test');
    });

    it('a trusted issuer removed while the server runs stops being accepted within 1 s', { skip }, async () => {
      await issued(await exchange(await k8sToken()), ids.k8s);
      await issuers.remove('cluster', 'test');
      const t0 = Date.now();
      let status = 200;
      while (Date.now() - t0 < 1000) {
        const r = await exchange(await k8sToken());
        status = r.status;
        if (status === 401) {
          refused(r, 'issuer removed');
          break;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal(status, 401, 'still accepted 1 s after the issuer was removed');
    });
  });
}
