import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';

/** RFC 6749 §2.3.1: "the authorization server MUST protect any endpoint utilizing it against brute force attacks." */
describe('brute force and floods → 429 with Retry-After, legitimate clients unaffected', () => {
  let srv: TestServer;
  let victim: { client_id: string; client_secret: string };
  const MAX = 10;

  before(async () => {
    // Requests arrive "through a proxy" so the test can speak from several addresses (X-Forwarded-For).
    srv = await startTestServer({ config: { rateLimitFailures: MAX, rateLimitWindow: 60, trustProxy: '127.0.0.1' } });
    victim = (await srv.createClient({ client_name: 'victim', scope: 'a' })) as typeof victim;
  });
  after(() => srv.close());

  const attempt = (from: string, id: string, secret: string) =>
    postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret), 'x-forwarded-for': from });

  it('repeated failures from one address → 429 + Retry-After while the real client keeps getting 100% 200 at 100 req/s', async () => {
    const legit: number[] = [];
    let stop = false;
    // The legitimate client: 100 requests per second from its own address during the attack.
    const legitLoop = (async () => {
      const t0 = Date.now();
      let i = 0;
      while (!stop) {
        const due = t0 + i * 10;
        if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
        legit.push((await attempt('198.51.100.7', victim.client_id, victim.client_secret)).status);
        i++;
      }
    })();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < MAX + 20; i++) {
      const r = await attempt('203.0.113.9', victim.client_id, 'lk_wrong' + i);
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        assert.deepEqual(r.json, { error: 'too_many_requests', error_description: 'too many failed authentication attempts' });
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    // At least 100 legitimate requests overlap the attack and its aftermath (a loaded machine may pace slower).
    while (legit.length < 100) await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await legitLoop;
    assert.deepEqual(statuses.slice(0, MAX), Array(MAX).fill(401));
    assert.ok(statuses.slice(MAX).every((s) => s === 429), statuses.join(','));
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60);
    // Even the right secret from the blocked address waits (the address is refused before any check).
    assert.equal((await attempt('203.0.113.9', victim.client_id, victim.client_secret)).status, 429);
    assert.ok(legit.length >= 100, `legit requests: ${legit.length}`);
    assert.deepEqual([...new Set(legit)], [200]);
  });

  it('one client id sprayed from many addresses: failures get 429, the right secret still works', async () => {
    const other = (await srv.createClient({ client_name: 'sprayed', scope: 'a' })) as typeof victim;
    let saw429 = false;
    for (let i = 0; i < MAX * 5 + 10; i++) {
      const r = await attempt(`192.0.2.${i % 250}`, other.client_id, 'lk_guess' + i);
      assert.ok(r.status === 401 || r.status === 429, String(r.status));
      if (r.status === 429) {
        saw429 = true;
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
    }
    assert.ok(saw429, 'client-wide budget exhausted');
    const ok = await attempt('192.0.2.77', other.client_id, other.client_secret);
    assert.equal(ok.status, 200);
  });

  it('unknown client ids from one address are limited the same way — a known client at that address is not', async () => {
    const statuses = [];
    for (let i = 0; i < MAX + 3; i++) statuses.push((await attempt('203.0.113.50', `ghost-${i}`, 'lk_x')).status);
    assert.deepEqual(statuses.slice(0, MAX), Array(MAX).fill(401));
    assert.deepEqual(statuses.slice(MAX), [429, 429, 429]);
    // SPEC §5: the same address, a real client with its right secret: never refused for others' failures.
    assert.equal((await attempt('203.0.113.50', victim.client_id, victim.client_secret)).status, 200);
  });

  it('the same-address bystander keeps getting 200 while another client id at that address is refused', async () => {
    const target = (await srv.createClient({ client_name: 'target', scope: 'a' })) as typeof victim;
    const bystander = (await srv.createClient({ client_name: 'bystander', scope: 'a' })) as typeof victim;
    const from = '203.0.113.77';
    const seen: number[] = [];
    for (let i = 0; i < MAX + 5; i++) {
      seen.push((await attempt(from, target.client_id, 'lk_bad' + i)).status);
      assert.equal((await attempt(from, bystander.client_id, bystander.client_secret)).status, 200);
    }
    assert.deepEqual(seen.slice(0, MAX), Array(MAX).fill(401));
    assert.ok(seen.slice(MAX).every((s) => s === 429), seen.join(','));
    // The bystander's own wrong secret is a plain 401: its budget is its own.
    assert.equal((await attempt(from, bystander.client_id, 'lk_wrong')).status, 401);
  });

  it('budgets use the id the credentials name, not a decoy body client_id', async () => {
    const admin = (await srv.createClient({ client_name: 'decoyed', scope: 'a' })) as typeof victim;
    const statuses: number[] = [];
    for (let i = 0; i < MAX + 2; i++) {
      const r = await postForm(
        `${srv.url}/oauth2/token`,
        { grant_type: 'client_credentials', client_id: `decoy-${i}` },
        { authorization: basic(admin.client_id, 'lk_wrong' + i), 'x-forwarded-for': '203.0.113.88' },
      );
      statuses.push(r.status);
    }
    assert.deepEqual(statuses.slice(0, MAX), Array(MAX).fill(401));
    assert.deepEqual(statuses.slice(MAX), [429, 429]);
  });

  it('a claimed id without the client-id syntax is invalid_client at once (60 KB, secret-shaped, spaces)', async () => {
    for (const bad of ['x'.repeat(3000), 'a b c', 'ab', 'é-client']) {
      const r = await attempt('203.0.113.99', bad, 'lk_x');
      assert.equal(r.status, 401);
      assert.equal(r.json.error, 'invalid_client');
      assert.match(String(r.headers.get('www-authenticate')), /^Basic /);
    }
    const post = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: 'x'.repeat(60_000), client_secret: 'lk_x' }, { 'x-forwarded-for': '203.0.113.98' });
    assert.equal(post.status, 401);
    assert.equal(post.json.error, 'invalid_client');
  });

  it('rate-limit hits are counted in /metrics', async () => {
    const m = await (await fetch(`${srv.url}/metrics`)).text();
    const line = m.split('\n').find((l) => l.startsWith('latchkey_rate_limited_total{endpoint="token"}'));
    assert.ok(line && Number(line.split(' ').pop()) > 0, line);
    const fails = m.split('\n').find((l) => l.startsWith('latchkey_client_auth_failures_total'));
    assert.ok(fails && Number(fails.split(' ').pop()) >= MAX);
  });
});
