// --micro: the per-token building blocks, timed in-process on this machine, so
// docs/performance.md can say where the microseconds of a token go.
import { generateKeyPairSync, sign, verify, createHmac, createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, importJWK, jwtVerify } from 'jose';
import { markdownTable } from './report.mjs';

async function time(n, fn) {
  for (let i = 0; i < Math.min(n, 1000); i++) await fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t) / 1000 / n;
}

export async function runMicro() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const joseKey = await importJWK({ ...jwk, alg: 'ES256' }, 'ES256');
  const josePub = await importJWK({ ...publicKey.export({ format: 'jwk' }), alg: 'ES256' }, 'ES256');
  const claims = { iss: 'http://127.0.0.1:8080', sub: 'c_0123456789abcdef', client_id: 'c_0123456789abcdef', aud: 'https://api.example.com', iat: 1_700_000_000, exp: 1_900_000_000, jti: randomUUID(), scope: 'read write' };
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })).toString('base64url');
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const jwt = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(joseKey);
  const ed = generateKeyPairSync('ed25519');
  const edSig = sign(null, Buffer.from(input), ed.privateKey);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaSig = sign('sha256', Buffer.from(input), rsa.privateKey);
  const hkey = randomBytes(32);
  const secret = `lk_${randomBytes(32).toString('base64url')}`;
  const rows = [];
  const add = async (name, n, fn) => rows.push([name, (await time(n, fn)).toFixed(2)]);
  await add('ES256 sign, node:crypto sign() ieee-p1363', 5000, () => sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  await add('ES256 sign, jose SignJWT (WebCrypto)', 3000, () => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(joseKey));
  await add('ES256 verify, node:crypto verify()', 3000, () => verify('sha256', Buffer.from(input), { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig));
  await add('ES256 verify, jose jwtVerify (WebCrypto)', 3000, () => jwtVerify(jwt, josePub));
  await add('Ed25519 sign, node:crypto', 5000, () => sign(null, Buffer.from(input), ed.privateKey));
  await add('Ed25519 verify, node:crypto (private_key_jwt EdDSA)', 5000, () => verify(null, Buffer.from(input), ed.publicKey, edSig));
  await add('RS256 sign 2048, node:crypto', 500, () => sign('sha256', Buffer.from(input), rsa.privateKey));
  await add('RS256 verify 2048, node:crypto (private_key_jwt RS256)', 5000, () => verify('sha256', Buffer.from(input), rsa.publicKey, rsaSig));
  await add('HMAC-SHA256 of a client secret (keyed hash)', 50_000, () => createHmac('sha256', hkey).update(secret).digest());
  await add('SHA-256 of an opaque token', 50_000, () => createHash('sha256').update(secret).digest());
  await add('randomBytes(32) → base64url (opaque token)', 50_000, () => randomBytes(32).toString('base64url'));
  await add('crypto.randomUUID() (jti)', 50_000, () => randomUUID());
  await add('claims JSON.stringify + base64url', 50_000, () => Buffer.from(JSON.stringify(claims)).toString('base64url'));
  await add('Basic header base64 decode + split', 50_000, () => {
    const s = Buffer.from('YzBfMDEyMzQ1Njc4OWFiY2RlZjpsa19hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk', 'base64').toString('latin1');
    return s.slice(0, s.indexOf(':'));
  });
  await add('URLSearchParams parse of the token form body', 50_000, () => new URLSearchParams('grant_type=client_credentials&scope=read%20write'));
  console.log(markdownTable(['operation (one core, in-process)', 'µs'], rows));
  return rows;
}
