import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { createResourceServer, discoveryUrls, ResourceError } from '../src/index.js';
import { nowSeconds, startIssuer, until, type TestIssuer } from './helpers/issuer.js';

function fakeClock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('JWKS cache: cooldown, rotation, outages', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer();
  });
  after(() => as.close());

  it('a flood of tokens with random unknown kids causes at most one JWKS fetch per cooldown', async () => {
    const clock = fakeClock();
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clock: clock.now, jwks: { cooldown: 30 } });
    await rs.verify(await as.sign()); // initial load
    const start = as.jwksFetches;
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await Promise.all(
      Array.from({ length: 300 }, () =>
        new SignJWT({ iss: as.issuer, aud: as.audience, exp: nowSeconds() + 60 })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: randomUUID() })
          .sign(privateKey),
      ),
    );
    // First window: the first unknown kid may ask once; the other 99 may not.
    for (const t of forged.slice(0, 100)) await assert.rejects(rs.verify(t), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.equal(as.jwksFetches - start, 1);
    // Next window: exactly one more fetch, whatever the concurrency.
    clock.advance(30_000);
    await Promise.all(forged.slice(100, 200).map((t) => assert.rejects(rs.verify(t), { code: 'ERR_JWKS_NO_MATCHING_KEY' })));
    assert.equal(as.jwksFetches - start, 2);
    clock.advance(29_000);
    for (const t of forged.slice(200)) await assert.rejects(rs.verify(t), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.equal(as.jwksFetches - start, 2);
    assert.equal(rs.stats.jwksFetches, 3);
    // Valid tokens keep working throughout.
    await rs.verify(await as.sign());
  });

  it('the scheduled refresh does not spend the unknown-kid budget: a rotation right after it is seamless', async () => {
    const clock = fakeClock();
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clock: clock.now, jwks: { cooldown: 30, maxAge: 60 } });
    const exp = nowSeconds() + 3600;
    await rs.verify(await as.sign({ exp }));
    clock.advance(61_000);
    await rs.verify(await as.sign({ exp })); // starts the scheduled background refresh
    await until(() => rs.stats.jwksLoads === 2, 'the background refresh');
    const fetches = as.jwksFetches;
    // The issuer now switches to a brand-new key at once (no pre-publication).
    const fresh = await as.addKey('ES256');
    clock.advance(1_000);
    assert.equal((await rs.verify(await as.sign({ exp }, { key: fresh }))).clientId, 'client-1');
    assert.equal(as.jwksFetches - fetches, 1);
  });

  it('concurrent first requests share one discovery and one JWKS fetch', async () => {
    const beforeJwks = as.jwksFetches;
    const beforeMeta = as.metadataFetches;
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => as.sign()));
    await Promise.all(tokens.map((t) => rs.verify(t)));
    assert.equal(as.jwksFetches - beforeJwks, 1);
    assert.equal(as.metadataFetches - beforeMeta, 1);
  });

  it('key rotation: the new key is picked up on its first token, and no valid request fails', async () => {
    const clock = fakeClock();
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clock: clock.now, jwks: { cooldown: 30, maxAge: 300 } });
    const oldKey = as.keys[0]!;
    const exp = nowSeconds() + 3600;
    await rs.verify(await as.sign({ exp }, { key: oldKey }));
    clock.advance(31_000);
    const next = await as.addKey('ES256');
    // Both old and new tokens verify, interleaved, while the issuer switches keys.
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, async (_, i) => rs.verify(await as.sign({ exp }, { key: i % 2 ? next : oldKey }))),
    );
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
    // Retire the old key from the JWKS: once the set is refreshed (max age), cached old-key tokens stop validating.
    const oldToken = await as.sign({ exp }, { key: oldKey });
    await rs.verify(oldToken);
    as.published.delete(oldKey.kid);
    try {
      clock.advance(301_000);
      const loads = rs.stats.jwksLoads;
      await rs.verify(await as.sign({ exp }, { key: next })); // triggers the background refresh
      await until(() => rs.stats.jwksLoads === loads + 1, 'the background refresh');
      await rs.verify(await as.sign({ exp }, { key: next }));
      await assert.rejects(rs.verify(oldToken), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    } finally {
      as.published.add(oldKey.kid);
    }
  });

  it('issuer down at start: 503-class error, then recovers after the cooldown', async () => {
    const clock = fakeClock();
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clock: clock.now, jwks: { cooldown: 10 } });
    as.jwksStatus = 500;
    try {
      const token = await as.sign();
      const err = await rs.verify(token).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ResourceError);
      assert.equal(err.code, 'ERR_JWKS_UNAVAILABLE');
      assert.equal(err.status, 503);
      const fetches = as.jwksFetches;
      await assert.rejects(rs.verify(token), { code: 'ERR_JWKS_UNAVAILABLE' });
      assert.equal(as.jwksFetches, fetches, 'no refetch within the cooldown');
      as.jwksStatus = undefined;
      clock.advance(10_000);
      const auth = await rs.verify(token);
      assert.equal(auth.clientId, 'client-1');
    } finally {
      as.jwksStatus = undefined;
    }
  });

  it('a failed background refresh keeps the known keys in use', async () => {
    const clock = fakeClock();
    const reported: string[] = [];
    const rs = createResourceServer({
      issuer: as.issuer,
      audience: as.audience,
      clock: clock.now,
      cache: false,
      jwks: { maxAge: 60, cooldown: 5 },
      onError: (e) => reported.push(e.code),
    });
    await rs.verify(await as.sign());
    as.jwksStatus = 503;
    try {
      clock.advance(120_000);
      const exp = nowSeconds() + 3600;
      await rs.verify(await as.sign({ exp }));
      await until(() => reported.length > 0, 'the failed background refresh');
      await rs.verify(await as.sign({ exp }));
      assert.deepEqual(reported, ['ERR_JWKS_UNAVAILABLE'], 'the failed background refresh is reported once');
    } finally {
      as.jwksStatus = undefined;
    }
  });

  it('metadata with a different issuer is refused (RFC 8414 §3.3)', async () => {
    const rs = createResourceServer({ issuer: `${as.issuer}/tenant`, audience: as.audience });
    await assert.rejects(rs.verify(await as.sign({ iss: `${as.issuer}/tenant` })), { code: 'ERR_DISCOVERY_FAILED', status: 503 });
  });

  it('discovery URLs: RFC 8414 §3.1 inserts the suffix before the issuer path, OpenID appends it', () => {
    assert.deepEqual(discoveryUrls('https://as.example/tenant/1', 'auto'), [
      'https://as.example/.well-known/oauth-authorization-server/tenant/1',
      'https://as.example/tenant/1/.well-known/openid-configuration',
    ]);
    assert.deepEqual(discoveryUrls('https://as.example/', 'oauth-authorization-server'), ['https://as.example/.well-known/oauth-authorization-server']);
    assert.deepEqual(discoveryUrls('https://as.example', 'openid-configuration'), ['https://as.example/.well-known/openid-configuration']);
  });

  it('falls back to /.well-known/openid-configuration when RFC 8414 metadata is missing', async () => {
    const calls: string[] = [];
    const fetchSpy = (input: string | URL, init?: RequestInit) => {
      calls.push(new URL(String(input)).pathname);
      if (String(input).includes('oauth-authorization-server')) return Promise.resolve(new Response('{}', { status: 404 }));
      return fetch(input, init);
    };
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, fetch: fetchSpy });
    await rs.verify(await as.sign());
    assert.deepEqual(calls, ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/jwks']);
  });

  it('metadata is re-read after maxAge (a moved jwks_uri is followed); a failed re-read keeps the last good one', async () => {
    const clock = fakeClock();
    let moved = false;
    let metadataDown = false;
    const seen: string[] = [];
    const fetchVia = async (input: string | URL, init?: RequestInit) => {
      const path = new URL(String(input)).pathname;
      seen.push(path);
      if (path.startsWith('/.well-known/')) {
        if (metadataDown) return new Response('{}', { status: 500 });
        return Response.json({ issuer: as.issuer, jwks_uri: `${as.url}${moved ? '/jwks?v=2' : '/jwks'}` });
      }
      return fetch(input, init);
    };
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clock: clock.now, fetch: fetchVia, cache: false, jwks: { maxAge: 60, cooldown: 5 } });
    const exp = nowSeconds() + 3600;
    await rs.verify(await as.sign({ exp }));
    moved = true;
    clock.advance(61_000);
    await rs.verify(await as.sign({ exp })); // background refresh: re-reads the metadata, then the moved JWKS
    await until(() => rs.stats.jwksLoads === 2, 'the background refresh');
    assert.deepEqual(seen, ['/.well-known/oauth-authorization-server', '/jwks', '/.well-known/oauth-authorization-server', '/jwks']);
    assert.equal((await rs.metadata()).jwks_uri, `${as.url}/jwks?v=2`);
    metadataDown = true;
    clock.advance(61_000);
    await rs.verify(await as.sign({ exp }));
    await until(() => rs.stats.jwksLoads === 3, 'the background refresh');
    assert.equal(seen.at(-1), '/jwks', 'JWKS still refreshed from the last good metadata');
    assert.equal((await rs.metadata()).jwks_uri, `${as.url}/jwks?v=2`);
  });

  it('jwksUri without discovery', async () => {
    const before = as.metadataFetches;
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, discovery: false, jwksUri: `${as.url}/jwks` });
    await rs.verify(await as.sign());
    assert.equal(as.metadataFetches, before);
  });
});
