import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSigner, createVerifier, isCanonicalBase64url, isCanonicalCompactJws, JoseError, normalizeTyp, parseCompactJws, verifyCompactJws } from '../src/index.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sign = createSigner(privateKey, 'ES256');
function token(header: unknown, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(Buffer.from(input)).toString('base64url')}`;
}
const good = token({ alg: 'ES256', kid: 'k' }, { sub: 'a' });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof JoseError, `not a JoseError: ${String(e)}`);
    return e.code;
  }
  return 'ok';
}

describe('compact JWS', () => {
  it('canonical base64url: no padding, alphabet, no stray low bits', () => {
    assert.equal(isCanonicalBase64url('QQ'), true);
    assert.equal(isCanonicalBase64url('QR'), false); // 'A' + 1 stray bit
    assert.equal(isCanonicalBase64url('QUI'), true);
    assert.equal(isCanonicalBase64url('QUJ'), false);
    assert.equal(isCanonicalBase64url('QQ=='), false);
    assert.equal(isCanonicalBase64url('Q'), false);
    assert.equal(isCanonicalBase64url('a+b/'), false);
    assert.equal(isCanonicalBase64url('ab cd'), false);
    // Matches the decode/encode round trip for every 2- and 3-character tail.
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const a of chars) {
      for (const b of chars) {
        for (const t of [a + b, `A${a}${b}`, `AA${a}${b}`]) {
          assert.equal(isCanonicalBase64url(t), Buffer.from(t, 'base64url').toString('base64url') === t, t);
        }
      }
    }
  });

  it('three non-empty canonical parts within the size bound', () => {
    assert.equal(isCanonicalCompactJws(good), true);
    for (const bad of [good + '.', `.${good}`, good.replace('.', '..'), good + '=', ` ${good}`, good.split('.').slice(0, 2).join('.'), `${good}\n`]) {
      assert.equal(isCanonicalCompactJws(bad), false, bad);
      assert.equal(code(() => parseCompactJws(bad)), 'ERR_JWS_MALFORMED');
    }
    assert.equal(isCanonicalCompactJws(good, good.length - 1), false);
    assert.equal(code(() => parseCompactJws(42)), 'ERR_JWS_MALFORMED');
  });

  it('an empty signature part is syntax (unsecured JWS, RFC 7515 §7.1) refused by the algorithm check', () => {
    const none = `${b64({ alg: 'none' })}.${b64({ sub: 'a' })}.`;
    assert.equal(isCanonicalCompactJws(none), true);
    assert.equal(code(() => verifyCompactJws(none, ['ES256'], () => undefined)), 'ERR_JWS_ALG_NOT_ALLOWED');
  });

  it('header and payload must be JSON objects in UTF-8', () => {
    assert.equal(code(() => parseCompactJws(`${b64('[1]')}.${b64({})}.AA`)), 'ERR_JWS_MALFORMED');
    assert.equal(code(() => parseCompactJws(`${b64({ alg: 'ES256' })}.${b64('null')}.AA`)), 'ERR_JWS_MALFORMED');
    assert.equal(code(() => parseCompactJws(`${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${b64({})}.AA`)), 'ERR_JWS_MALFORMED');
  });

  it('refuses crit, b64 other than true, non-string kid and a missing alg', () => {
    assert.equal(code(() => parseCompactJws(token({ alg: 'ES256', crit: ['exp'], exp: 1 }, {}))), 'ERR_JWS_HEADER_REFUSED');
    assert.equal(code(() => parseCompactJws(token({ alg: 'ES256', b64: false }, {}))), 'ERR_JWS_HEADER_REFUSED');
    assert.equal(code(() => parseCompactJws(token({ alg: 'ES256', kid: 1 }, {}))), 'ERR_JWS_HEADER_REFUSED');
    assert.equal(code(() => parseCompactJws(token({ typ: 'JWT' }, {}))), 'ERR_JWS_ALG_NOT_ALLOWED');
    assert.equal(code(() => parseCompactJws(token({ alg: 'ES256', b64: true }, {}))), 'ok');
  });

  it('refuses a __proto__ member, also spelled with \\u escapes', () => {
    const h = b64('{"alg":"ES256","__proto__":{"polluted":1}}');
    const h2 = b64('{"alg":"ES256","\\u005f_proto__":{"polluted":1}}');
    for (const x of [h, h2]) assert.equal(code(() => parseCompactJws(`${x}.${b64({})}.AA`)), 'ERR_JWS_MALFORMED');
    assert.equal(code(() => parseCompactJws(`${b64({ alg: 'ES256' })}.${b64('{"a":{"__proto__":{}}}')}.AA`)), 'ERR_JWS_MALFORMED');
    // Escapes elsewhere are fine.
    assert.deepEqual(parseCompactJws(`${b64({ alg: 'ES256' })}.${b64('{"a":"\\u00e9"}')}.AA`).payload, { a: 'é' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('verifies with node:crypto and refuses a wrong key, alg or algorithm family', () => {
    const v = createVerifier(publicKey, 'ES256');
    assert.deepEqual(verifyCompactJws(good, ['ES256'], () => v).payload, { sub: 'a' });
    const other = createVerifier(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 'ES256');
    assert.equal(code(() => verifyCompactJws(good, ['ES256'], () => other)), 'ERR_JWS_SIGNATURE_INVALID');
    assert.equal(code(() => verifyCompactJws(good, ['ES256'], () => undefined)), 'ERR_JWS_SIGNATURE_INVALID');
    // A verifier for another alg never verifies, even if the key could.
    assert.equal(code(() => verifyCompactJws(good, ['ES256'], () => createVerifier(publicKey, 'ES384'))), 'ERR_JWS_SIGNATURE_INVALID');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    assert.equal(createVerifier(rsa, 'ES256').verify('a.b', Buffer.alloc(64)), false);
    for (const alg of ['none', 'HS256']) assert.equal(code(() => verifyCompactJws(token({ alg }, {}), ['ES256'], () => v)), 'ERR_JWS_ALG_NOT_ALLOWED');
  });

  it('typ compares as a media type (RFC 7515 §4.1.9)', () => {
    assert.equal(normalizeTyp('application/DPoP+JWT'), 'dpop+jwt');
    assert.equal(normalizeTyp('dpop+jwt'), 'dpop+jwt');
    assert.equal(normalizeTyp('text/dpop+jwt'), 'text/dpop+jwt');
  });
});
