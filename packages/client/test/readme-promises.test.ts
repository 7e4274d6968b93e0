// README statements about behaviour that had no test of their own (issue #15 item 5), against the
// scripted HTTP authorization server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { TokenClient, type TokenClientEvent } from '../src/index.js';
import { startScriptedAs } from './helpers/scripted-as.js';

const SECRET = 'pa55:word/with+odd chars';
const auth = { method: 'client_secret_basic', clientId: 'svc', clientSecret: SECRET } as const;

test('"Events never contain tokens or secrets" — success, retries, failures and discovery', async (t) => {
  const as = await startScriptedAs({
    script: ['token', { status: 503, body: { error: 'temporarily_unavailable' } }, 'drop', 'token', { status: 401, body: { error: 'invalid_client' } }],
  });
  t.after(() => as.close());
  const events: TokenClientEvent[] = [];
  const client = new TokenClient({ issuer: as.issuer, auth, retry: { baseDelayMs: 1, maxDelayMs: 5 }, onEvent: (e) => events.push(e) });
  const tokens = [(await client.getToken()).accessToken, (await client.getToken({ forceRefresh: true })).accessToken];
  await assert.rejects(client.getToken({ forceRefresh: true }), { code: 'ERR_OAUTH_ERROR_RESPONSE' });
  assert.deepEqual(new Set(events.map((e) => e.type)), new Set(['discovery', 'token_fetched', 'retry', 'refresh_failed']));
  for (const e of events) {
    const text = `${inspect(e, { depth: 10, showHidden: true })} ${JSON.stringify(e)}`;
    for (const secret of [SECRET, encodeURIComponent(SECRET), Buffer.from(`svc:${SECRET}`).toString('base64'), ...tokens]) {
      assert.equal(text.includes(secret), false, `${e.type} leaks ${secret.slice(0, 6)}…`);
    }
  }
});

test('"onEvent: exceptions it throws are swallowed"', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  let calls = 0;
  const client = new TokenClient({
    issuer: as.issuer,
    auth,
    onEvent: () => {
      calls++;
      throw new Error('a broken logger');
    },
  });
  assert.ok((await client.getToken()).accessToken.length > 0);
  assert.ok(calls >= 2, 'discovery and token_fetched were both reported');
});

test('"discoveryCacheSeconds: stale metadata keeps working while it is re-fetched"', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  let discoveries = 0;
  let metadataDown = false;
  const fetchVia = (input: string | URL | Request, init?: RequestInit) => {
    if ((input instanceof Request ? input.url : input.toString()).includes('/.well-known/')) {
      discoveries++;
      if (metadataDown) return Promise.resolve(new Response('{}', { status: 500 }));
    }
    return fetch(input, init);
  };
  const client = new TokenClient({ issuer: as.issuer, auth, discoveryCacheSeconds: 1, retry: false, fetch: fetchVia });
  await client.getToken();
  await client.getToken({ forceRefresh: true });
  assert.equal(discoveries, 1, 'reused within discoveryCacheSeconds');
  await new Promise((r) => setTimeout(r, 1100));
  metadataDown = true;
  const token = await client.getToken({ forceRefresh: true });
  assert.ok(token.accessToken.length > 0, 'the stale metadata still served the token request');
  assert.equal(discoveries, 2, 're-fetched once it was older than discoveryCacheSeconds');
  assert.equal(as.requests.length, 3);
});

test('"expiryMarginSeconds: never hand out a token this close to expiry; capped at a fifth of the lifetime"', async (t) => {
  for (const [marginSeconds, expectedMarginMs] of [
    [0.2, 200], // as configured
    [0.5, 400], // capped: a fifth of the 2 s the client counts for a 3 s token (expires_in less up to 1 s)
  ] as const) {
    const as = await startScriptedAs({ expiresIn: 3 });
    t.after(() => as.close());
    const client = new TokenClient({ issuer: as.issuer, auth, retry: false, refreshAheadSeconds: 0, refreshJitter: 0, expiryMarginSeconds: marginSeconds });
    const first = await client.getToken();
    // From now on the server refuses: the cached token is served until its margin, then the error surfaces.
    as.script.push(...Array.from({ length: 50 }, () => ({ status: 503, body: { error: 'temporarily_unavailable' } })));
    let lastServedAt = 0;
    let failedAt = 0;
    while (failedAt === 0) {
      // Served ⇒ decided at or after `asked`; failed ⇒ decided before `Date.now()` afterwards: robust on a busy machine.
      const asked = Date.now();
      try {
        const token = await client.getToken();
        assert.equal(token.accessToken, first.accessToken);
        lastServedAt = asked;
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'ERR_OAUTH_ERROR_RESPONSE');
        failedAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const usableUntil = first.expiresAt - expectedMarginMs;
    assert.ok(lastServedAt < usableUntil, `margin ${marginSeconds}: served ${lastServedAt - usableUntil} ms past expiresAt − ${expectedMarginMs} ms`);
    assert.ok(failedAt >= usableUntil, `margin ${marginSeconds}: stopped ${usableUntil - failedAt} ms before the margin`);
  }
});
