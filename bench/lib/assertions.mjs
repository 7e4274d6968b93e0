// private_key_jwt client assertions (RFC 7523 §2.2). Each assertion's `jti` is
// single-use, so every request needs a fresh one. Signing on the load-generator
// core at full rate would make the load generator the bottleneck, so a pool is
// signed before each measured phase; if it runs dry we sign inline and count it.
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';

export function makeClientKey(kid = 'bench-client-key') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
  return { privateKey, publicJwk, kid, jwks: { keys: [publicJwk] } };
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

export function signAssertion(key, clientId, audience, ttlSeconds = 600) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', typ: 'JWT', kid: key.kid })}.${b64({
    iss: clientId, sub: clientId, aud: audience, jti: randomUUID(), iat: now, exp: now + ttlSeconds,
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

export class AssertionPool {
  constructor(key, clientId, audience) {
    this.key = key;
    this.clientId = clientId;
    this.audience = audience;
    this.pool = [];
    this.index = 0;
    this.inline = 0;
  }

  /** Makes sure at least `n` unused assertions are ready. */
  fill(n) {
    const have = this.pool.length - this.index;
    if (have >= n) return;
    this.pool = this.pool.slice(this.index);
    this.index = 0;
    for (let i = have; i < n; i++) this.pool.push(signAssertion(this.key, this.clientId, this.audience));
  }

  next() {
    if (this.index < this.pool.length) return this.pool[this.index++];
    this.inline++;
    return signAssertion(this.key, this.clientId, this.audience);
  }
}
