import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOutbound } from '../../src/outbound/fetch-json.js';
import { TrustedIssuer, parseIssuerJwks } from '../../src/client-auth/federated/trusted-issuer-keys.js';
import type { TrustedIssuerRecord } from '../../src/store/types.js';
import { FakeIssuer, issuerKey } from './helpers.js';

/**
 * SPIFFE Trust Domain and Bundle §4.1.2: a bundle's `spiffe_refresh_hint` says how often to poll the bundle
 * endpoint. Latchkey honours it when it is shorter than jwksCacheTtl (never longer), for SPIFFE bundles only,
 * over real HTTP from a bundle endpoint on loopback.
 */
describe('SPIFFE bundle refresh hint', () => {
  const bundle = new FakeIssuer();
  let key: Awaited<ReturnType<typeof issuerKey>>;
  before(async () => {
    await bundle.start();
    key = await issuerKey('ES256');
    bundle.keys = [{ ...key.publicJwk, use: 'jwt-svid' }];
  });
  after(() => bundle.stop());

  const issuer = (kind: TrustedIssuerRecord['kind'], cacheTtlSeconds: number) =>
    new TrustedIssuer(
      { name: 'prod', issuer: 'spiffe://prod.example.org', kind, jwks_uri: `${bundle.url}/jwks`, jwks: null, max_assertion_lifetime: 300, single_use: false, created_at: 0, updated_at: 0 },
      createOutbound({ issuer: 'http://127.0.0.1:8080', allow: ['127.0.0.1'] }),
      { cacheTtlSeconds, refreshCooldownSeconds: 0, fetchTimeoutMs: 2000, maxBytes: 65536 },
    );
  const fetchesAfter = async (ti: TrustedIssuer, waitMs: number) => {
    await ti.verifier('ES256', key.kid);
    const first = ti.fetches;
    await new Promise((r) => setTimeout(r, waitMs));
    await ti.verifier('ES256', key.kid);
    return ti.fetches - first;
  };

  it('parses the hint only for SPIFFE bundles and only as a positive integer', () => {
    const keys = [{ ...key.publicJwk, use: 'jwt-svid' }];
    assert.equal(parseIssuerJwks({ keys, spiffe_refresh_hint: 60 }, 'spiffe').refreshHintSeconds, 60);
    for (const bad of [0, -5, 1.5, '60', null, 1e300]) assert.equal(parseIssuerJwks({ keys, spiffe_refresh_hint: bad }, 'spiffe').refreshHintSeconds, undefined, String(bad));
    assert.equal(parseIssuerJwks({ keys, spiffe_refresh_hint: 60 }, 'oidc').refreshHintSeconds, undefined);
  });

  it('a 1 s hint makes a 1-hour cache fetch the bundle again after 1 s', async () => {
    bundle.jwksExtras = { spiffe_refresh_hint: 1 };
    assert.equal(await fetchesAfter(issuer('spiffe', 3600), 1100), 1);
  });

  it('without a hint (or for a non-SPIFFE issuer) the 1-hour cache holds', async () => {
    bundle.jwksExtras = {};
    assert.equal(await fetchesAfter(issuer('spiffe', 3600), 1100), 0);
    bundle.jwksExtras = { spiffe_refresh_hint: 1 };
    bundle.keys = [key.publicJwk]; // an OIDC JWKS: use "sig"
    try {
      assert.equal(await fetchesAfter(issuer('oidc', 3600), 1100), 0);
    } finally {
      bundle.keys = [{ ...key.publicJwk, use: 'jwt-svid' }];
    }
  });

  it('a hint longer than jwksCacheTtl does not lengthen it', async () => {
    bundle.jwksExtras = { spiffe_refresh_hint: 86_400 };
    assert.equal(await fetchesAfter(issuer('spiffe', 1), 1100), 1);
  });
});
