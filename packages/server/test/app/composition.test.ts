/**
 * The composition root (src/app/compose.ts): features are values wired with their collaborators, so
 * - the token endpoint built the way production builds it enforces DPoP binding (issue #13 "It fails
 *   open": without the import-time binder registry a DPoP-bound client + garbage proof got 200 Bearer);
 * - building it without the DPoP binder does not compile (type-level test, checked by tsc over tests);
 * - two differently configured servers in one process each behave per their own configuration.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { dpopProof, INVALID_DPOP, keyPair } from '../strong-auth/helpers.js';
import { composeServer } from '../../src/app/compose.js';
import { tokenEndpoint, type TokenEndpointDeps } from '../../src/protocol/token.js';
import { certificateBinder } from '../../src/tokens/certificate-binding.js';
import { dpopBinder } from '../../src/tokens/dpop.js';
import type { OAuthRequest } from '../../src/shared/oauth-request.js';

const cc = 'grant_type=client_credentials';
const GARBAGE_DPOP = 'not.a-dpop.proof';

describe('composition root: the token endpoint as production builds it', () => {
  let srv: TestServer;
  let bound: { client_id: string; client_secret: string };
  let plain: { client_id: string; client_secret: string };

  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    bound = (await srv.createClient({ scope: 'a', dpop_bound_access_tokens: true })) as typeof bound;
    plain = (await srv.createClient({ scope: 'a' })) as typeof plain;
  });
  after(() => srv.close());

  const request = (c: { client_id: string; client_secret: string }, dpop?: string): OAuthRequest => ({
    method: 'POST',
    url: `${srv.issuer}/oauth2/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c.client_id, c.client_secret), ...(dpop === undefined ? {} : { dpop }) },
    rawBody: cc,
    remoteAddress: '127.0.0.1',
  });

  it('serves token, introspection and revocation; metadata comes from the same authenticators and binders', () => {
    const composed = composeServer(srv.services);
    assert.deepEqual(
      composed.http.oauthEndpoints.map((e) => e.path),
      ['/oauth2/token', '/oauth2/introspect', '/oauth2/revoke'],
    );
    assert.ok(Array.isArray(composed.metadata.dpop_signing_alg_values_supported), 'the DPoP binder contributes its metadata');
    assert.deepEqual(composed.metadata.token_endpoint_auth_methods_supported, composed.authentication.methods, 'metadata = the authenticators the endpoints use');
  });

  it('a DPoP-bound client with a garbage DPoP proof → 400 invalid_dpop_proof (framework-free handler, no HTTP)', async () => {
    const token = composeServer(srv.services).endpoints.token;
    const r = await token.handle(request(bound, GARBAGE_DPOP));
    assert.equal(r.status, 400, r.body);
    assert.deepEqual(JSON.parse(r.body), INVALID_DPOP);
    // The same for a client that is not DPoP-bound: a proof that is sent is always checked.
    const r2 = await token.handle(request(plain, GARBAGE_DPOP));
    assert.equal(r2.status, 400, r2.body);
    assert.deepEqual(JSON.parse(r2.body), INVALID_DPOP);
    // And a DPoP-bound client without any proof is refused, never handed a Bearer token.
    const r3 = await token.handle(request(bound));
    assert.equal(r3.status, 400, r3.body);
    assert.equal(JSON.parse(r3.body).error, 'invalid_request');
  });

  it('over plain HTTP: DPoP-bound client + garbage DPoP header → 400 invalid_dpop_proof, no token', async () => {
    const r = await postForm(`${srv.url}/oauth2/token`, cc, { authorization: basic(bound.client_id, bound.client_secret), dpop: GARBAGE_DPOP });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.json, INVALID_DPOP);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  it('building the token endpoint without the DPoP binder does not type-check', () => {
    const composed = composeServer(srv.services);
    const rt = srv.services;
    const deps: Omit<TokenEndpointDeps, 'binders'> = {
      issuer: rt.config.issuer,
      defaultAudience: rt.config.defaultAudience,
      authenticate: composed.authenticate,
      minter: rt.minter,
      storeOutageExceeded: () => false,
      metrics: rt.metrics,
      log: rt.log,
    };
    const mtls = certificateBinder({ receivable: false });
    const dpop = dpopBinder(rt);
    // The compile-time checks (tsc over tests): each line below must be a type error.
    const attempts = [
      // @ts-expect-error — binders are required
      () => tokenEndpoint({ ...deps }),
      // @ts-expect-error — an empty list has no DPoP binder
      () => tokenEndpoint({ ...deps, binders: [] }),
      // @ts-expect-error — the certificate binder alone (no DPoP binder first)
      () => tokenEndpoint({ ...deps, binders: [mtls] }),
      // @ts-expect-error — DPoP must come first (a DPoP proof wins over a certificate)
      () => tokenEndpoint({ ...deps, binders: [mtls, dpop] }),
    ];
    assert.equal(attempts.length, 4);
    // What does compile: the DPoP binder first.
    const ok = tokenEndpoint({ ...deps, binders: [dpop, mtls] });
    assert.equal(ok.path, '/oauth2/token');
    assert.ok(ok.metadata.dpop_signing_alg_values_supported, 'the endpoint advertises what its binders support');
  });
});

describe('composition root: two differently configured servers in one process', () => {
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    // A requires DPoP server nonces and issues 2-minute tokens; B has the defaults.
    a = await startTestServer({ config: { dpopNonce: true, accessTokenTtl: 120, rateLimitFailures: 1_000_000 } });
    b = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('each serves its own issuer and metadata', async () => {
    const ma = (await (await fetch(`${a.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    const mb = (await (await fetch(`${b.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    assert.equal(ma.issuer, a.issuer);
    assert.equal(mb.issuer, b.issuer);
    assert.notEqual(a.issuer, b.issuer);
    assert.equal(ma.token_endpoint, `${a.issuer}/oauth2/token`);
    assert.equal(mb.token_endpoint, `${b.issuer}/oauth2/token`);
  });

  it('DPoP nonces are required by A only; token lifetimes follow each one\'s setting', async () => {
    const kp = await keyPair('ES256');
    const ca = (await a.createClient({ scope: 'x' })) as { client_id: string; client_secret: string };
    const cb = (await b.createClient({ scope: 'x' })) as { client_id: string; client_secret: string };
    const ra = await postForm(`${a.url}/oauth2/token`, cc, { authorization: basic(ca.client_id, ca.client_secret), dpop: await dpopProof(kp, `${a.issuer}/oauth2/token`) });
    assert.equal(ra.status, 400, ra.text);
    assert.equal(ra.json.error, 'use_dpop_nonce');
    assert.ok(ra.headers.get('dpop-nonce'), 'A hands out a nonce');
    const ra2 = await postForm(`${a.url}/oauth2/token`, cc, {
      authorization: basic(ca.client_id, ca.client_secret),
      dpop: await dpopProof(kp, `${a.issuer}/oauth2/token`, { claims: { nonce: ra.headers.get('dpop-nonce') } }),
    });
    assert.equal(ra2.status, 200, ra2.text);
    assert.equal(ra2.json.token_type, 'DPoP');
    assert.equal(ra2.json.expires_in, 120);

    const rb = await postForm(`${b.url}/oauth2/token`, cc, { authorization: basic(cb.client_id, cb.client_secret), dpop: await dpopProof(kp, `${b.issuer}/oauth2/token`) });
    assert.equal(rb.status, 200, rb.text);
    assert.equal(rb.json.token_type, 'DPoP');
    assert.equal(rb.json.expires_in, 3600);
    assert.equal(rb.headers.get('dpop-nonce'), null, 'B has nonces off');

    // A's token means nothing to B (other keys, other issuer): inactive at B's introspection.
    const intro = await postForm(`${b.url}/oauth2/introspect`, { token: ra2.json.access_token }, { authorization: basic(b.admin.client_id, b.admin.client_secret) });
    assert.equal(intro.status, 200, intro.text);
    assert.deepEqual(intro.json, { active: false });
  });

  it('a client of one server is unknown to the other (separate stores and caches)', async () => {
    const ca = (await a.createClient({ scope: 'x' })) as { client_id: string; client_secret: string };
    const r = await postForm(`${b.url}/oauth2/token`, cc, { authorization: basic(ca.client_id, ca.client_secret) });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
  });
});
