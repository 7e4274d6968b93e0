import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, SignJWT, calculateJwkThumbprint } from 'jose';
import { accessTokenHash, createDpopVerifier, JoseError, normalizeHtu, type DpopRequest } from '../src/index.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = await exportJWK(publicKey);
const jkt = await calculateJwkThumbprint(jwk, 'sha256');
const NOW = 1_800_000_000;
const URL_ = 'https://rs.example/orders';

async function proof(opts: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: KeyObject; alg?: string } = {}): Promise<string> {
  const alg = opts.alg ?? 'ES256';
  return new SignJWT({ jti: crypto.randomUUID(), htm: 'GET', htu: URL_, iat: NOW, ...opts.claims })
    .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk, ...opts.header })
    .sign(opts.key ?? privateKey);
}

const verifier = createDpopVerifier({ maxAge: 300, clockTolerance: 5 });
function req(p: DpopRequest['proof'], extra: Partial<DpopRequest> = {}): DpopRequest {
  const seen = new Set<string>();
  return { proof: p, method: 'GET', url: URL_, now: NOW, replay: (k, j) => !seen.has(k + j) && !!seen.add(k + j), ...extra };
}
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof JoseError, String(e));
    return e.code;
  }
}

describe('DPoP proof verifier (RFC 9449 §4.3)', () => {
  it('accepts a valid proof and returns the RFC 7638 thumbprint', async () => {
    const r = await verifier.verify(req(await proof()));
    assert.equal(r.jkt, jkt);
    assert.equal(r.iat, NOW);
  });

  it('step 1: exactly one header', async () => {
    const p = await proof();
    assert.equal(await code(verifier.verify(req([p, p]))), 'ERR_DPOP_HEADER_COUNT');
    assert.equal(await code(verifier.verify(req([]))), 'ERR_DPOP_HEADER_COUNT');
    assert.equal(await code(verifier.verify(req(undefined))), 'ERR_DPOP_HEADER_COUNT');
    assert.equal(await code(verifier.verify(req([p]))), 'ok');
    assert.equal(await code(verifier.verify(req(`${p}, ${p}`))), 'ERR_DPOP_MALFORMED');
  });

  it('step 4: typ dpop+jwt as a media type; application/dpop+jwt is the same type', async () => {
    assert.equal(await code(verifier.verify(req(await proof({ header: { typ: 'application/dpop+jwt' } })))), 'ok');
    assert.equal(await code(verifier.verify(req(await proof({ header: { typ: 'DPoP+JWT' } })))), 'ok');
    assert.equal(await code(verifier.verify(req(await proof({ header: { typ: 'JWT' } })))), 'ERR_DPOP_TYP');
    assert.equal(await code(verifier.verify(req(await proof({ header: { typ: undefined } })))), 'ERR_DPOP_TYP');
  });

  it('step 5: alg from the DPoP table only; the table can be narrowed, never widened', async () => {
    const es384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p384 = await proof({ alg: 'ES384', key: es384.privateKey, header: { jwk: await exportJWK(es384.publicKey) } });
    assert.equal(await code(createDpopVerifier({ maxAge: 300, clockTolerance: 5, algorithms: ['ES256'] }).verify(req(p384))), 'ERR_DPOP_ALG');
    assert.equal(await code(verifier.verify(req(p384))), 'ok');
    const hs = await new SignJWT({ jti: 'j', htm: 'GET', htu: URL_, iat: NOW }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk }).sign(new Uint8Array(32));
    assert.equal(await code(verifier.verify(req(hs))), 'ERR_DPOP_ALG');
    assert.throws(() => createDpopVerifier({ maxAge: 1, clockTolerance: 0, algorithms: ['HS256'] }), TypeError);
  });

  it('step 7: jwk public, valid and fitting alg; no key-locating headers', async () => {
    const full = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    assert.equal(await code(verifier.verify(req(await proof({ header: { jwk: full } })))), 'ERR_DPOP_JWK');
    assert.equal(await code(verifier.verify(req(await proof({ header: { jwk: { ...jwk, dp: 'AA' } } })))), 'ERR_DPOP_JWK');
    assert.equal(await code(verifier.verify(req(await proof({ header: { jwk: undefined } })))), 'ERR_DPOP_CLAIM_MISSING');
    assert.equal(await code(verifier.verify(req(await proof({ header: { jwk: { ...jwk, alg: 'ES384' } } })))), 'ERR_DPOP_JWK');
    assert.equal(await code(verifier.verify(req(await proof({ header: { x5u: 'https://x' } })))), 'ERR_DPOP_JWK');
    assert.equal(await code(verifier.verify(req(await proof({ header: { jwk: { ...jwk, ext: true, key_ops: ['verify'] } } })))), 'ok');
    const ed448 = generateKeyPairSync('ed448');
    // jose cannot sign Ed448; node can.
    const h448 = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: ed448.publicKey.export({ format: 'jwk' }) })).toString('base64url');
    const c448 = Buffer.from(JSON.stringify({ jti: 'j', htm: 'GET', htu: URL_, iat: NOW })).toString('base64url');
    const p448 = `${h448}.${c448}.${sign(null, Buffer.from(`${h448}.${c448}`), ed448.privateKey).toString('base64url')}`;
    assert.equal(await code(verifier.verify(req(p448))), 'ERR_DPOP_JWK');
    const ed = generateKeyPairSync('ed25519');
    assert.equal(await code(verifier.verify(req(await proof({ alg: 'EdDSA', key: ed.privateKey, header: { jwk: await exportJWK(ed.publicKey) } })))), 'ok');
  });

  it('step 6: signature by the embedded key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.equal(await code(verifier.verify(req(await proof({ key: other })))), 'ERR_DPOP_SIGNATURE_VERIFICATION_FAILED');
  });

  it('step 3: jti, htm, htu, iat present', async () => {
    for (const c of ['jti', 'htm', 'htu', 'iat']) {
      assert.equal(await code(verifier.verify(req(await proof({ claims: { [c]: undefined } })))), 'ERR_DPOP_CLAIM_MISSING', c);
    }
    assert.equal(await code(verifier.verify(req(await proof({ claims: { jti: '' } })))), 'ERR_DPOP_CLAIM_MISSING');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { iat: '1' } })))), 'ERR_DPOP_CLAIM_MISSING');
  });

  it('steps 8, 9: htm and htu (query and fragment ignored)', async () => {
    assert.equal(await code(verifier.verify(req(await proof({ claims: { htm: 'POST' } })))), 'ERR_DPOP_HTM');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { htu: 'https://rs.example/other' } })))), 'ERR_DPOP_HTU');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { htu: 'https://rs.example/orders?x=1#f' } }), { url: `${URL_}?y=2` }))), 'ok');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { htu: 'HTTPS://RS.EXAMPLE:443/orders' } })))), 'ok');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { htu: 'not a uri' } })))), 'ERR_DPOP_HTU');
    assert.equal(normalizeHtu('https://a.example/p?q#f'), 'https://a.example/p');
  });

  it('step 11: iat window with tolerance', async () => {
    assert.equal(await code(verifier.verify(req(await proof({ claims: { iat: NOW + 6 } })))), 'ERR_DPOP_IAT');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { iat: NOW + 5 } })))), 'ok');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { iat: NOW - 306 } })))), 'ERR_DPOP_IAT');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { iat: NOW - 305 } })))), 'ok');
  });

  it('exp and nbf, when present, are honoured (RFC 7519 §4.1.4–4.1.5)', async () => {
    assert.equal(await code(verifier.verify(req(await proof({ claims: { exp: NOW - 6 } })))), 'ERR_DPOP_EXPIRED');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { exp: '9999999999' } })))), 'ERR_DPOP_EXPIRED');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { nbf: NOW + 60 } })))), 'ERR_DPOP_EXPIRED');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { exp: NOW + 60, nbf: NOW } })))), 'ok');
  });

  it('step 12 and §7.1: ath with an access token, and the bound key', async () => {
    const at = 'access-token-value';
    assert.equal(await code(verifier.verify(req(await proof(), { accessToken: at }))), 'ERR_DPOP_ATH');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { ath: accessTokenHash('other') } }), { accessToken: at }))), 'ERR_DPOP_ATH');
    const good = await proof({ claims: { ath: accessTokenHash(at) } });
    assert.equal(await code(verifier.verify(req(good, { accessToken: at, jkt }))), 'ok');
    assert.equal(await code(verifier.verify(req(good, { accessToken: at, jkt: 'x'.repeat(43) }))), 'ERR_DPOP_KEY_MISMATCH');
  });

  it('step 10: nonce when the server requires one', async () => {
    const nonce = (n: unknown) => n === 'n-1';
    assert.equal(await code(verifier.verify(req(await proof(), { nonce }))), 'ERR_DPOP_NONCE');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { nonce: 'n-0' } }), { nonce }))), 'ERR_DPOP_NONCE');
    assert.equal(await code(verifier.verify(req(await proof({ claims: { nonce: 'n-1' } }), { nonce }))), 'ok');
  });

  it('§11.1: jti single use, recorded until the proof is too old anyway, after every other check', async () => {
    const calls: [string, string, number][] = [];
    const seen = new Set<string>();
    const replay = async (k: string, j: string, until: number) => {
      calls.push([k, j, until]);
      if (seen.has(k + j)) return false;
      seen.add(k + j);
      return true;
    };
    const p = await proof({ claims: { jti: 'once' } });
    assert.equal(await code(verifier.verify({ ...req(p), replay, method: 'POST' })), 'ERR_DPOP_HTM');
    assert.equal(calls.length, 0);
    assert.equal(await code(verifier.verify({ ...req(p), replay })), 'ok');
    assert.equal(await code(verifier.verify({ ...req(p), replay })), 'ERR_DPOP_REPLAYED');
    assert.deepEqual(calls[0], [jkt, 'once', NOW + 300 + 5]);
  });
});
