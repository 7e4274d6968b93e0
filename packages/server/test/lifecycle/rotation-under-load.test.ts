/**
 * Zero failed requests while a client secret and then the signing key rotate (issue 3), with the CLI
 * run as a separate process against the running server, and tokens verified the way a resource
 * server verifies them: jose createRemoteJWKSet with its default cooldown (30 s) and max age (10 min).
 *
 * Worst case for the resource server: its JWKS cache is refreshed just before the new key is
 * published, so the cache does not hold the new key. With a pre-publication interval longer than the
 * cooldown, the first token with the new kid finds the cooldown over, jose refetches, and the key is
 * there. That is why the test waits 31 s (jose's default cooldown is 30 s) — the shortest honest wait.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { latchkeyJson, sleep } from './helpers.js';

const API = 'https://api.example.com';
const PREPUBLISH = 31;

describe('rotation under load on two nodes: secret, then signing key — zero failures', () => {
  let srv: TestServer;
  let node2: TestServer;
  before(async () => {
    srv = await startTestServer({ config: { keyPrePublish: PREPUBLISH } });
    // A second node of the same deployment (same store, KEK and issuer): requests alternate between them.
    node2 = await startTestServer({ db: srv.db, dataDir: srv.dataDir, config: { keyPrePublish: PREPUBLISH, issuer: srv.issuer } });
  });
  after(async () => {
    await node2.close();
    await srv.close();
  });

  it('a token loop with local JWKS verification sees no failure; tokens after activation carry the new kid', async (t) => {
    const c = (await srv.createClient({ client_name: 'worker', scope: 'jobs:run', audience: [API], access_token_ttl: 600 })) as { client_id: string; client_secret: string };
    await node2.sync(); // the client exists on both nodes before the load starts
    const cli = ['--data-dir', srv.dataDir, '--db', srv.db];
    const jwks = createRemoteJWKSet(new URL(`${srv.issuer}/.well-known/jwks.json`));
    let secret = c.client_secret;
    const failures: string[] = [];
    const seen: { at: number; kid: string; node: 1 | 2 }[] = [];
    let stop = false;

    let n = 0;
    const worker = async () => {
      while (!stop) {
        const started = Date.now();
        const node = n++ % 2 === 0 ? srv : node2;
        const r = await postForm(`${node.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, secret) });
        if (r.status !== 200) {
          failures.push(`token ${r.status} ${r.text}`);
          continue;
        }
        try {
          await jwtVerify(r.json.access_token, jwks, { issuer: srv.issuer, audience: API, typ: 'at+jwt' });
          seen.push({ at: started, kid: decodeProtectedHeader(r.json.access_token).kid!, node: node === srv ? 1 : 2 });
        } catch (e) {
          failures.push(`verify ${(e as { code?: string }).code ?? (e as Error).message}`);
        }
        await sleep(20); // a steady loop, not a benchmark: leave CPU for the CLI and the other tests
      }
    };
    const workers = [worker(), worker(), worker()];
    try {
      // Let the loop get going (a loaded machine can take a while to serve the first tokens).
      const t0 = Date.now();
      while (seen.length < 3 && Date.now() - t0 < 20_000) await sleep(100);
      assert.ok(seen.length > 0, `no token verified yet: ${failures.slice(0, 3).join(' | ')}`);
      const oldKid = seen.at(-1)!.kid;

      // 1. Secret rotation with a grace period; the workers roll over to the new secret a little later.
      const rotated = await latchkeyJson(['clients', 'rotate-secret', '--grace', '60', ...cli, '--', c.client_id]);
      assert.match(rotated.client_secret, /^lk_/);
      assert.notEqual(rotated.client_secret, c.client_secret);
      await sleep(1000); // old secret still in use by the fleet: must keep working
      secret = rotated.client_secret;
      await sleep(500);

      // 2. Key rotation; the resource server's cache was refreshed just before (worst case).
      await jwks.reload();
      const k = await latchkeyJson(['keys', 'rotate', '--prepublish', String(PREPUBLISH), ...cli]);
      const activateAt = Date.parse(k.activate_at);
      assert.notEqual(k.kid, oldKid);
      const listed = await latchkeyJson(['keys', 'list', ...cli]);
      assert.deepEqual(
        listed.map((x: { kid: string; state: string }) => [x.kid, x.state]),
        [
          [k.kid, 'next'],
          [oldKid, 'current'],
        ],
      );
      await srv.sync();
      await node2.sync();
      const published = JSON.parse(await (await fetch(`${srv.url}/.well-known/jwks.json`)).text()).keys.map((x: { kid: string }) => x.kid);
      assert.deepEqual(published.sort(), [k.kid, oldKid].sort(), 'the next key is published before it signs');

      // 3. Keep the load running through activation and a little beyond.
      while (Date.now() < activateAt + 2500) await sleep(200);
      stop = true;
      await Promise.all(workers);

      t.diagnostic(`requests: ${seen.length + failures.length}, failures: ${failures.length}, new-kid tokens verified: ${seen.filter((x) => x.kid === k.kid).length}`);
      assert.deepEqual(failures, [], 'no request failed');
      const beforeAct = seen.filter((x) => x.at < activateAt - 500);
      const afterAct = seen.filter((x) => x.at > activateAt + 500);
      assert.ok(beforeAct.length > 50 && afterAct.length > 10, `enough samples (${beforeAct.length} / ${afterAct.length})`);
      assert.ok(beforeAct.every((x) => x.kid === oldKid), 'the new key signs nothing before its activation time');
      assert.ok(afterAct.every((x) => x.kid === k.kid), 'tokens signed after activation carry the new kid');
      assert.ok(afterAct.some((x) => x.node === 1) && afterAct.some((x) => x.node === 2), 'both nodes switched to the new key');

      const after = await latchkeyJson(['keys', 'list', ...cli]);
      assert.deepEqual(
        after.map((x: { kid: string; state: string }) => [x.kid, x.state]),
        [
          [k.kid, 'current'],
          [oldKid, 'retired'],
        ],
      );
      const old = after.find((x: { kid: string }) => x.kid === oldKid);
      // Retired key stays published until the longest token it may have signed has expired (+60 s skew).
      assert.equal(Date.parse(old.retired_at), activateAt);
      assert.equal(Date.parse(old.expires_at), activateAt + (srv.services.config.maxAccessTokenTtl + 60) * 1000);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
  });
});
