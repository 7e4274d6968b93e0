import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createResourceServer, ResourceConfigError, ResourceError, type ResourceErrorCode } from '../src/index.js';
import { encodeSegment, nowSeconds, signRaw, startIssuer, tamper, type TestIssuer } from './helpers/issuer.js';

async function rejectsWith(promise: Promise<unknown>, code: ResourceErrorCode, status?: number): Promise<ResourceError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ResourceError, `expected ResourceError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code} (${err.detail})`);
    if (status !== undefined) assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected rejection with ${code}`);
}

describe('JWT access tokens (RFC 9068 §4, RFC 8725)', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer({ algs: ['ES256', 'RS256', 'PS256', 'EdDSA', 'ES384', 'ES512'] });
  });
  after(() => as.close());

  const rs = () => createResourceServer({ issuer: as.issuer, audience: as.audience, cache: false });

  it('accepts valid tokens for every supported algorithm and exposes typed claims', async () => {
    const server = rs();
    for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA', 'ES384', 'ES512']) {
      const token = await as.sign({ scope: 'read:orders write:orders' }, { alg });
      const auth = await server.verify(token);
      assert.equal(auth.claims.iss, as.issuer, alg);
      assert.equal(auth.clientId, 'client-1');
      assert.equal(auth.subject, 'client-1');
      assert.equal(auth.format, 'jwt');
      assert.deepEqual([...auth.scopes].sort(), ['read:orders', 'write:orders']);
      assert.ok(Object.isFrozen(auth.claims));
    }
  });

  it('discovers the JWKS through RFC 8414 metadata, once', async () => {
    const before = as.metadataFetches;
    const server = rs();
    await server.verify(await as.sign());
    await server.verify(await as.sign());
    assert.equal(as.metadataFetches - before, 1);
    assert.equal((await server.metadata()).jwks_uri, `${as.url}/jwks`);
  });

  it('accepts typ "application/at+jwt" and any case (RFC 7515 §4.1.9)', async () => {
    const server = rs();
    await server.verify(await as.sign({}, { typ: 'application/at+jwt' }));
    await server.verify(await as.sign({}, { typ: 'AT+JWT' }));
  });

  it('accepts aud as an array containing this API', async () => {
    await rs().verify(await as.sign({ aud: ['https://other.example', as.audience] }));
  });

  describe('rejects every forgery RFC 8725 lists', () => {
    it('alg "none" (§3.1)', async () => {
      const unsigned = `${encodeSegment({ alg: 'none', typ: 'at+jwt' })}.${encodeSegment({ iss: as.issuer, aud: as.audience, exp: nowSeconds() + 60 })}.`;
      // An empty third segment is not even a JWS for us; with a dummy signature it is refused by alg.
      await rejectsWith(rs().verify(unsigned), 'ERR_TOKEN_UNSUPPORTED', 401);
      await rejectsWith(rs().verify(`${unsigned}AAAA`), 'ERR_JWT_ALG_NOT_ALLOWED', 401);
    });

    it('"none" in any spelling', async () => {
      for (const alg of ['None', 'NONE', 'nOnE', '']) {
        const t = `${encodeSegment({ alg, typ: 'at+jwt' })}.${encodeSegment({ iss: as.issuer, aud: as.audience, exp: nowSeconds() + 60 })}.AAAA`;
        await rejectsWith(rs().verify(t), 'ERR_JWT_ALG_NOT_ALLOWED');
      }
    });

    it('keys named by the token itself (jwk, jku, x5u headers) are never used nor fetched (§3.10)', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const attackerJwk = await exportJWK(publicKey);
      let fetched = 0;
      const { createServer } = await import('node:http');
      const trap = createServer((_req, res) => {
        fetched++;
        res.end(JSON.stringify({ keys: [{ ...attackerJwk, kid: 'evil' }] }));
      });
      await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
      try {
        const trapUrl = `http://127.0.0.1:${(trap.address() as { port: number }).port}/jwks`;
        const token = await new SignJWT({ iss: as.issuer, aud: as.audience, sub: 's', client_id: 's', iat: nowSeconds(), exp: nowSeconds() + 60, jti: 'j' })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'evil', jwk: attackerJwk, jku: trapUrl, x5u: trapUrl })
          .sign(privateKey);
        await rejectsWith(rs().verify(token), 'ERR_JWKS_NO_MATCHING_KEY');
        assert.equal(fetched, 0);
      } finally {
        trap.close();
      }
    });

    it('HS256 signed with the public key as the secret (§2.1 key confusion)', async () => {
      const rsa = as.keys.find((k) => k.alg === 'RS256')!;
      const secret = Buffer.from(JSON.stringify(rsa.publicJwk));
      const header = encodeSegment({ alg: 'HS256', typ: 'at+jwt', kid: rsa.kid });
      const payload = encodeSegment({ iss: as.issuer, aud: as.audience, sub: 'x', client_id: 'x', iat: nowSeconds(), exp: nowSeconds() + 60, jti: 'j' });
      const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      await rejectsWith(rs().verify(`${header}.${payload}.${sig}`), 'ERR_JWT_ALG_NOT_ALLOWED');
    });

    it('header alg switched to another family than the key (RS256 key, PS256 header)', async () => {
      const rsa = as.keys.find((k) => k.alg === 'RS256')!;
      const token = await as.sign({}, { key: rsa, alg: 'RS256' });
      await rejectsWith(rs().verify(tamper(token, { header: { alg: 'PS256' } })), 'ERR_JWKS_NO_MATCHING_KEY');
    });

    it('wrong or missing typ (§3.11 explicit typing)', async () => {
      await rejectsWith(rs().verify(await as.sign({}, { typ: 'JWT' })), 'ERR_JWT_TYP_INVALID');
      await rejectsWith(rs().verify(await as.sign({}, { typ: 'dpop+jwt' })), 'ERR_JWT_TYP_INVALID');
      await rejectsWith(rs().verify(await as.sign({}, { typ: null })), 'ERR_JWT_TYP_INVALID');
    });

    it('wrong iss (§3.8)', async () => {
      await rejectsWith(rs().verify(await as.sign({ iss: `${as.issuer}/` })), 'ERR_JWT_ISSUER_INVALID');
      await rejectsWith(rs().verify(await as.sign({ iss: 'https://evil.example' })), 'ERR_JWT_ISSUER_INVALID');
    });

    it('wrong aud (§3.9)', async () => {
      await rejectsWith(rs().verify(await as.sign({ aud: 'https://other.example' })), 'ERR_JWT_AUDIENCE_INVALID');
      await rejectsWith(rs().verify(await as.sign({ aud: [] })), 'ERR_JWT_AUDIENCE_INVALID');
      await rejectsWith(rs().verify(await as.sign({ aud: [as.audience, 7] as unknown as string[] })), 'ERR_JWT_AUDIENCE_INVALID');
    });

    it('expired, and not yet valid (nbf, iat in the future)', async () => {
      const now = nowSeconds();
      const err = await rejectsWith(rs().verify(await as.sign({ iat: now - 600, exp: now - 60 })), 'ERR_JWT_EXPIRED');
      assert.equal(err.description, 'The access token expired');
      await rejectsWith(rs().verify(await as.sign({ nbf: now + 120 })), 'ERR_JWT_NOT_YET_VALID');
      await rejectsWith(rs().verify(await as.sign({ iat: now + 120 })), 'ERR_JWT_NOT_YET_VALID');
    });

    it('honours a bounded clock tolerance', async () => {
      const now = nowSeconds();
      const lenient = createResourceServer({ issuer: as.issuer, audience: as.audience, clockTolerance: 30, cache: false });
      await lenient.verify(await as.sign({ exp: now - 10, iat: now - 100 }));
      await lenient.verify(await as.sign({ nbf: now + 10 }));
      await rejectsWith(lenient.verify(await as.sign({ exp: now - 40, iat: now - 100 })), 'ERR_JWT_EXPIRED');
      assert.throws(() => createResourceServer({ issuer: as.issuer, audience: as.audience, clockTolerance: 3600 }), ResourceConfigError);
    });

    it('unknown kid', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT({ iss: as.issuer, aud: as.audience, exp: nowSeconds() + 60 })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-published' })
        .sign(privateKey);
      await rejectsWith(rs().verify(token), 'ERR_JWKS_NO_MATCHING_KEY');
    });

    it('a known kid but signed by another key', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const es = as.keys.find((k) => k.alg === 'ES256')!;
      const token = await new SignJWT({ iss: as.issuer, aud: as.audience, exp: nowSeconds() + 60 })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: es.kid })
        .sign(privateKey);
      await rejectsWith(rs().verify(token), 'ERR_JWS_SIGNATURE_INVALID');
    });

    it('tampered payload and tampered signature', async () => {
      const token = await as.sign();
      await rejectsWith(rs().verify(tamper(token, { payload: { scope: 'admin' } })), 'ERR_JWS_SIGNATURE_INVALID');
      const last = token.at(-2) === 'A' ? 'B' : 'A';
      await rejectsWith(rs().verify(`${token.slice(0, -2)}${last}${token.at(-1)}`), 'ERR_JWS_SIGNATURE_INVALID');
      // Non-canonical base64url: flipping the spare low bits of the last character keeps the same bytes.
      const last2 = token.at(-1)!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const twin = alphabet[alphabet.indexOf(last2) ^ 1]!;
      assert.deepEqual(Buffer.from(token.split('.')[2]!, 'base64url'), Buffer.from(`${token.split('.')[2]!.slice(0, -1)}${twin}`, 'base64url'));
      await rejectsWith(rs().verify(`${token.slice(0, -1)}${twin}`), 'ERR_JWS_SIGNATURE_INVALID');
      // A truncated signature must not reach the crypto layer as a "shorter valid" one.
      await rejectsWith(rs().verify(token.slice(0, -4)), 'ERR_JWS_SIGNATURE_INVALID');
    });

    it('unknown crit header (RFC 7515 §4.1.11)', async () => {
      const es = as.keys.find((k) => k.alg === 'ES256')!;
      const now = nowSeconds();
      const claims = { iss: as.issuer, aud: as.audience, sub: 's', client_id: 's', iat: now, exp: now + 60, jti: 'j' };
      // Sanity: the raw signer produces tokens we accept without crit...
      await rs().verify(signRaw(es, { alg: 'ES256', typ: 'at+jwt', kid: es.kid }, claims));
      await rejectsWith(rs().verify(signRaw(es, { alg: 'ES256', typ: 'at+jwt', kid: es.kid, crit: ['urn:x'], 'urn:x': 1 }, claims)), 'ERR_JWT_CRIT_UNSUPPORTED');
    });

    it('missing RFC 9068 §2.2 claims, wrong claim types', async () => {
      for (const claim of ['sub', 'client_id', 'iat', 'jti', 'exp']) {
        await rejectsWith(rs().verify(await as.sign({}, { omit: [claim] })), 'ERR_JWT_CLAIM_INVALID');
      }
      await rejectsWith(rs().verify(await as.sign({ exp: String(nowSeconds() + 60) as unknown as number })), 'ERR_JWT_CLAIM_INVALID');
      await rejectsWith(rs().verify(await as.sign({ scope: ['a'] as unknown as string })), 'ERR_JWT_CLAIM_INVALID');
      await rejectsWith(rs().verify(await as.sign({ cnf: 'x' as unknown as object })), 'ERR_JWT_CLAIM_INVALID');
    });

    it('garbage, JWE-shaped and oversized input', async () => {
      for (const junk of ['x', 'a.b', 'a.b.c.d.e', '....', 'eyJ.eyJ.sig', 'a b.c.d', '\u00ff.\u00ff.\u00ff']) {
        const err = await rejectsWith(rs().verify(junk), 'ERR_TOKEN_UNSUPPORTED');
        assert.equal(err.error, 'invalid_token');
      }
      await rejectsWith(rs().verify('a'.repeat(9000)), 'ERR_TOKEN_MALFORMED');
      // A character whose low byte equals a payload character (e.g. U+0141 for "A"): a byte-level (latin1)
      // view of the signing input would not tell them apart, so such tokens must not reach signature checks.
      const token = await as.sign();
      const i = token.indexOf('.') + 5;
      const lookalike = String.fromCharCode(0x100 | token.charCodeAt(i));
      await rejectsWith(rs().verify(`${token.slice(0, i)}${lookalike}${token.slice(i + 1)}`), 'ERR_TOKEN_UNSUPPORTED');
      const header = encodeSegment({ alg: 'ES256', typ: 'at+jwt', kid: as.keys[0]!.kid });
      await rejectsWith(rs().verify(`${header}.${Buffer.from('[1]').toString('base64url')}.AAAA`), 'ERR_JWS_SIGNATURE_INVALID');
    });
  });

  it('the key must be allowed for the alg: JWK "use": "enc" and narrowed algorithm lists are refused', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const kid = randomUUID();
    const enc = { kid, alg: 'ES256', privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'enc' } };
    as.keys.push(enc);
    as.published.add(kid);
    const token = await as.sign({}, { key: enc });
    await rejectsWith(rs().verify(token), 'ERR_JWKS_NO_MATCHING_KEY');
    const esOnly = createResourceServer({ issuer: as.issuer, audience: as.audience, algorithms: ['ES256'], cache: false });
    await rejectsWith(esOnly.verify(await as.sign({}, { alg: 'RS256' })), 'ERR_JWT_ALG_NOT_ALLOWED');
    await esOnly.verify(await as.sign({}, { alg: 'ES256' }));
  });

  it('refuses "none" and HMAC algorithms in its configuration', () => {
    for (const alg of ['none', 'HS256', 'HS512', 'RSA-OAEP']) {
      assert.throws(
        () => createResourceServer({ issuer: as.issuer, audience: as.audience, algorithms: [alg as 'ES256'] }),
        (e: unknown) => e instanceof ResourceConfigError && e.path === 'algorithms',
      );
    }
    assert.throws(() => createResourceServer({ issuer: 'http://evil.example', audience: 'x' }), /https/);
    assert.throws(() => createResourceServer({ issuer: as.issuer, audience: [] }), (e: unknown) => e instanceof ResourceConfigError && e.path === 'audience');
  });

  it('legacy issuers: typ check configurable, required claims configurable', async () => {
    const legacy = createResourceServer({ issuer: as.issuer, audience: as.audience, typ: ['JWT'], requiredClaims: [], cache: false });
    await legacy.verify(await as.sign({}, { typ: 'JWT', omit: ['client_id', 'jti', 'sub'] }));
    await rejectsWith(legacy.verify(await as.sign({}, { typ: 'at+jwt' })), 'ERR_JWT_TYP_INVALID');
    const untyped = createResourceServer({ issuer: as.issuer, audience: as.audience, typ: false, cache: false });
    await untyped.verify(await as.sign({}, { typ: null }));
    // exp stays mandatory whatever requiredClaims says.
    await rejectsWith(legacy.verify(await as.sign({}, { typ: 'JWT', omit: ['exp'] })), 'ERR_JWT_CLAIM_INVALID');
  });

  it('maxTokenAge bounds iat', async () => {
    const strict = createResourceServer({ issuer: as.issuer, audience: as.audience, maxTokenAge: 60, clockTolerance: 0, cache: false });
    await rejectsWith(strict.verify(await as.sign({ iat: nowSeconds() - 120 })), 'ERR_JWT_TOO_OLD');
    await strict.verify(await as.sign());
  });

  it('tokens without kid are verified against the matching keys', async () => {
    await rs().verify(await as.sign({}, { kid: null, alg: 'ES384' }));
  });
});
