import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createResourceServer } from '../src/index.js';
import { nowSeconds, startIssuer, type TestIssuer } from './helpers/issuer.js';

describe('opaque tokens via RFC 7662 introspection', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer();
  });
  after(() => as.close());

  const opaque = (answer: Record<string, unknown>) => {
    const token = `lk_at_${randomBytes(24).toString('base64url')}`;
    as.opaque.set(token, answer);
    return token;
  };
  const rs = (extra: object = {}) =>
    createResourceServer({
      issuer: as.issuer,
      audience: as.audience,
      introspection: {
        clientAuthentication: { method: 'client_secret_basic', clientId: as.introspectionClient.id, clientSecret: as.introspectionClient.secret },
        ...extra,
      },
    });
  const active = (extra: Record<string, unknown> = {}) => ({
    active: true,
    iss: as.issuer,
    client_id: 'client-9',
    sub: 'client-9',
    aud: [as.audience],
    scope: 'read:orders',
    exp: nowSeconds() + 300,
    token_type: 'Bearer',
    ...extra,
  });

  it('introspects with client authentication via @latchkey/client, and caches the answer', async () => {
    const server = rs();
    const token = opaque(active());
    const calls = as.introspectionCalls.length;
    const auth = await server.verify(token);
    assert.equal(auth.format, 'opaque');
    assert.equal(auth.clientId, 'client-9');
    assert.ok(auth.scopes.has('read:orders'));
    const call = as.introspectionCalls.at(-1)!;
    assert.equal(call.body.get('token'), token);
    assert.equal(call.body.get('token_type_hint'), 'access_token');
    assert.match(call.authorization!, /^Basic /);
    assert.equal(call.body.get('client_secret'), null, 'basic auth, no secret in the body');
    assert.equal(await server.verify(token), auth);
    assert.equal(as.introspectionCalls.length - calls, 1, 'second verification served from the cache');
  });

  it('concurrent verifications of one token share one introspection call', async () => {
    const server = rs();
    const token = opaque(active());
    const calls = as.introspectionCalls.length;
    await Promise.all(Array.from({ length: 20 }, () => server.verify(token)));
    assert.equal(as.introspectionCalls.length - calls, 1);
  });

  it('cache never outlives exp nor cacheTtl', async () => {
    let t = Date.now();
    const server = createResourceServer({
      issuer: as.issuer,
      audience: as.audience,
      clock: () => t,
      introspection: { clientAuthentication: { method: 'client_secret_post', clientId: 'x', clientSecret: 'y' }, cacheTtl: 60 },
    });
    // client_secret_post with wrong credentials → the AS says 401 → 503 for our caller, not 401.
    const token = opaque(active());
    await assert.rejects(server.verify(token), { code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });

    const server2 = createResourceServer({
      issuer: as.issuer,
      audience: as.audience,
      clock: () => t,
      introspection: { clientAuthentication: { method: 'client_secret_basic', clientId: as.introspectionClient.id, clientSecret: as.introspectionClient.secret }, cacheTtl: 60 },
    });
    const shortLived = opaque(active({ exp: Math.floor(t / 1000) + 5 }));
    await server2.verify(shortLived);
    const calls = as.introspectionCalls.length;
    t += 4_000;
    await server2.verify(shortLived);
    assert.equal(as.introspectionCalls.length, calls, 'cached while fresh');
    t += 7_000; // now past exp + clockTolerance (5 s + 5 s)
    await assert.rejects(server2.verify(shortLived), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal(as.introspectionCalls.length, calls + 1, 'expired cache entry → asked again');
    const longLived = opaque(active({ exp: Math.floor(t / 1000) + 3600 }));
    await server2.verify(longLived);
    t += 61_000;
    await server2.verify(longLived);
    assert.equal(as.introspectionCalls.length, calls + 3, 'cacheTtl bounds reuse');
  });

  it('inactive, foreign-audience, foreign-issuer and unknown tokens are invalid_token', async () => {
    const server = rs();
    await assert.rejects(server.verify(opaque({ active: false })), { code: 'ERR_TOKEN_INACTIVE', status: 401 });
    await assert.rejects(server.verify(`lk_at_${randomBytes(24).toString('base64url')}`), { code: 'ERR_TOKEN_INACTIVE' });
    await assert.rejects(server.verify(opaque(active({ aud: ['https://other.example'] }))), { code: 'ERR_TOKEN_INACTIVE' });
    await assert.rejects(server.verify(opaque(active({ aud: undefined }))), { code: 'ERR_TOKEN_INACTIVE' });
    await assert.rejects(server.verify(opaque(active({ iss: 'https://other.example' }))), { code: 'ERR_TOKEN_INACTIVE' });
    await assert.rejects(server.verify(opaque(active({ exp: nowSeconds() - 60 }))), { code: 'ERR_TOKEN_INACTIVE' });
    await rs({ requireAudience: false }).verify(opaque(active({ aud: undefined })));
  });

  it('introspection failures are 503, never a crash; non-RFC answers too', async () => {
    const server = rs();
    as.introspectionStatus = 500;
    try {
      await assert.rejects(server.verify(opaque(active())), { code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    } finally {
      as.introspectionStatus = undefined;
    }
    await assert.rejects(server.verify(opaque({ active: 'yes' })), { code: 'ERR_INTROSPECTION_UNAVAILABLE' });
  });

  it('inactive verdicts are cached too; calls in flight are capped', async () => {
    const server = rs();
    const token = opaque({ active: false });
    const calls = as.introspectionCalls.length;
    for (let i = 0; i < 5; i++) await assert.rejects(server.verify(token), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal(as.introspectionCalls.length - calls, 1);

    // "Not yet valid" is not remembered: it changes with time.
    const early = opaque(active({ nbf: nowSeconds() + 3600 }));
    const before = as.introspectionCalls.length;
    await assert.rejects(server.verify(early), { code: 'ERR_TOKEN_INACTIVE' });
    await assert.rejects(server.verify(early), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal(as.introspectionCalls.length - before, 2);

    const capped = rs({ maxConcurrent: 2 });
    as.introspectionDelayMs = 200;
    try {
      const results = await Promise.allSettled([0, 1, 2, 3].map(() => capped.verify(opaque(active()))));
      const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code)).sort();
      assert.deepEqual(codes, ['ERR_INTROSPECTION_UNAVAILABLE', 'ERR_INTROSPECTION_UNAVAILABLE', 'ok', 'ok']);
    } finally {
      as.introspectionDelayMs = 0;
    }
  });

  it('checkJwts: a locally valid JWT must also be active at the issuer', async () => {
    const server = rs({ checkJwts: true, cacheTtl: 0 });
    const jwt = await as.sign({ jti: 'jwt-1' });
    as.opaque.set(jwt, active({ jti: 'jwt-1', client_id: 'client-1' }));
    assert.equal((await server.verify(jwt)).clientId, 'client-1');
    as.opaque.set(jwt, { active: false }); // revoked at the issuer
    await assert.rejects(server.verify(jwt), { code: 'ERR_TOKEN_INACTIVE' });
    // An answer about another token (different jti) is not accepted.
    as.opaque.set(jwt, active({ jti: 'someone-else' }));
    await assert.rejects(server.verify(jwt), { code: 'ERR_TOKEN_INACTIVE' });
    // Forged JWTs are refused locally, before any introspection call.
    const calls = as.introspectionCalls.length;
    await assert.rejects(server.verify(await as.sign({ aud: 'https://other.example' })), { code: 'ERR_JWT_AUDIENCE_INVALID' });
    assert.equal(as.introspectionCalls.length, calls);
  });

  it('without introspection configured, opaque tokens are invalid_token', async () => {
    const server = createResourceServer({ issuer: as.issuer, audience: as.audience });
    await assert.rejects(server.verify(opaque(active())), { code: 'ERR_TOKEN_UNSUPPORTED', status: 401 });
  });

  it('DPoP-bound opaque tokens (cnf.jkt in the answer) are refused as Bearer', async () => {
    const server = rs();
    await assert.rejects(server.verify(opaque(active({ cnf: { jkt: 'abc' }, token_type: 'DPoP' }))), { code: 'ERR_TOKEN_SENDER_CONSTRAINED' });
  });
});
