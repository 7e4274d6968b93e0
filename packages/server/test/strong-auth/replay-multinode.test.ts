/**
 * Single use across nodes: the same client assertion (RFC 7523 jti) or DPoP proof (RFC 9449 jti) sent to
 * two server processes sharing one store is accepted exactly once. Node A runs in this process (the
 * harness), node B is a separate `latchkey start` process (built CLI), both with the same issuer and KEK.
 */
import { redisNamespace } from '../../src/limits/redis.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_URL, basic, createPgDatabase, freePort, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { spawnNode, type NodeProcess } from '../helpers/nodes.js';
import { ASSERTION_TYPE, INVALID_CLIENT, INVALID_DPOP, assertion, dpopProof, keyPair, type KeyPair } from './helpers.js';

const cc = { grant_type: 'client_credentials' };

async function redisAvailable(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch (e) {
    process.stderr.write(`\n*** Redis not reachable at ${REDIS_URL}: the Redis replay test is SKIPPED (${(e as Error).message}) ***\n\n`);
    return false;
  } finally {
    r.disconnect();
  }
}

const pgOk = await pgAvailable();
const redisOk = await redisAvailable();

for (const variant of ['sqlite', 'postgres', 'postgres+redis'] as const) {
  const store = variant === 'sqlite' ? 'sqlite' : 'postgres';
  const redis = variant === 'postgres+redis' ? REDIS_URL : undefined;
  describe(`replay protection across two server processes (${variant})`, () => {
    const skip = (store === 'postgres' && !pgOk) || (redis !== undefined && !redisOk);
    let a: TestServer;
    let b: NodeProcess;
    let dropDb: (() => Promise<void>) | undefined;
    let dirs: string[] = [];
    let kp: KeyPair;
    let pk: { client_id: string };
    let sec: { client_id: string; client_secret: string };
    let issuer: string;

    before(async () => {
      if (skip) return;
      const kek = randomBytes(32).toString('base64url');
      dirs = [mkdtempSync(join(tmpdir(), 'latchkey-a-')), mkdtempSync(join(tmpdir(), 'latchkey-b-'))];
      let db: string;
      if (store === 'sqlite') db = `sqlite:${join(dirs[0]!, 'shared.db')}`;
      else {
        const created = await createPgDatabase();
        db = created.url;
        dropDb = created.drop;
      }
      // One public issuer for both nodes, as behind a load balancer: assertions and proofs name it.
      issuer = `http://127.0.0.1:${await freePort()}`;
      a = await startTestServer({ db, kek, dataDir: dirs[0], config: { issuer, rateLimitFailures: 1_000_000, ...(redis ? { redis } : {}) } });
      kp = await keyPair('ES256');
      pk = await a.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [kp.publicJwk] } });
      sec = (await a.createClient({ scope: 'a' })) as { client_id: string; client_secret: string };
      b = await spawnNode({ db, dataDir: dirs[1]!, kek, ...(redis ? { redis } : {}), env: { LATCHKEY_ISSUER: issuer, LATCHKEY_RATE_LIMIT_FAILURES: '1000000' } });
    });
    after(async () => {
      if (skip) return;
      await b?.stop();
      await a?.close();
      await dropDb?.();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('the same client assertion sent to both nodes at once: exactly one 200, the other 401 invalid_client', { skip }, async () => {
      // Each node on its own accepts a fresh assertion: a 401 below can only be the replay check.
      for (const u of [a.url, b.url]) {
        const fresh = await assertion(kp.privateKey, pk.client_id, issuer, { header: { kid: kp.kid } });
        const r = await postForm(`${u}/oauth2/token`, { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: fresh });
        assert.equal(r.status, 200, `${u}: ${r.text}`);
      }
      for (let i = 0; i < 6; i++) {
        const jwt = await assertion(kp.privateKey, pk.client_id, issuer, { header: { kid: kp.kid } });
        const body = { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt };
        const urls = i % 2 === 0 ? [a.url, b.url] : [b.url, a.url];
        const rs = await Promise.all(urls.map((u) => postForm(`${u}/oauth2/token`, body)));
        const statuses = rs.map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 401], `round ${i}: ${rs.map((r) => r.text).join(' | ')}`);
        assert.deepEqual(rs.find((r) => r.status === 401)!.json, INVALID_CLIENT);
        // And sequentially on the node that did not see it first.
        const again = await postForm(`${urls[1]}/oauth2/token`, body);
        assert.equal(again.status, 401);
      }
      if (redis) {
        // The single-use record lives in the shared Redis (SET NX EXAT), not only in the store.
        const jwt = await assertion(kp.privateKey, pk.client_id, issuer, { header: { kid: kp.kid }, claims: { jti: `redis-${randomBytes(6).toString('hex')}` } });
        assert.equal((await postForm(`${b.url}/oauth2/token`, { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt })).status, 200);
        const r = new Redis(REDIS_URL);
        try {
          const jti = (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
          assert.equal(await r.exists(`${redisNamespace(issuer)}once:assertion:${pk.client_id}:${jti}`), 1);
        } finally {
          r.disconnect();
        }
      }
    });

    it('the same DPoP proof sent to both nodes at once: exactly one 200, the other 400 invalid_dpop_proof', { skip }, async () => {
      const dk = await keyPair('ES256');
      for (const u of [a.url, b.url]) {
        const r = await postForm(`${u}/oauth2/token`, cc, { authorization: basic(sec.client_id, sec.client_secret), dpop: await dpopProof(dk, `${issuer}/oauth2/token`) });
        assert.equal(r.status, 200, `${u}: ${r.text}`);
      }
      for (let i = 0; i < 6; i++) {
        const proof = await dpopProof(dk, `${issuer}/oauth2/token`);
        const urls = i % 2 === 0 ? [a.url, b.url] : [b.url, a.url];
        const rs = await Promise.all(urls.map((u) => postForm(`${u}/oauth2/token`, cc, { authorization: basic(sec.client_id, sec.client_secret), dpop: proof })));
        assert.deepEqual(
          rs.map((r) => r.status).sort(),
          [200, 400],
          rs.map((r) => r.text).join(' | '),
        );
        assert.deepEqual(rs.find((r) => r.status === 400)!.json, INVALID_DPOP);
        assert.equal(rs.find((r) => r.status === 200)!.json.token_type, 'DPoP');
      }
    });
  });
}
