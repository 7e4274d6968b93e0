// Retry behaviour against a real HTTP server that fails the way production servers do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { LatchkeyClientError, OAuthErrorResponse, parseRetryAfter, TokenClient, type TokenClientEvent } from '../src/index.js';
import { startScriptedAs, type Step } from './helpers/scripted-as.js';

const auth = { method: 'client_secret_basic', clientId: 'svc', clientSecret: 'secret' } as const;

async function setup(script: Step[], options: Partial<ConstructorParameters<typeof TokenClient>[0]> = {}) {
  const as = await startScriptedAs({ script });
  const events: TokenClientEvent[] = [];
  const client = new TokenClient({
    issuer: as.issuer,
    auth,
    retry: { baseDelayMs: 20, maxDelayMs: 100, maxRetries: 3 },
    onEvent: (e) => events.push(e),
    ...options,
  });
  await client.metadata();
  return { as, client, events, retries: () => events.filter((e) => e.type === 'retry') };
}

test('503 twice, then success: retried with backoff, one token', async (t) => {
  const { as, client, retries } = await setup([{ status: 503 }, { status: 503, body: '<html>busy</html>' }]);
  t.after(() => as.close());
  const token = await client.getToken();
  assert.ok(as.issued.has(token.accessToken));
  assert.equal(as.requests.length, 3);
  assert.deepEqual(retries().map((e) => e.type === 'retry' && [e.endpoint, e.attempt, e.status]), [['token', 1, 503], ['token', 2, 503]]);
  for (const e of retries()) assert.ok(e.type === 'retry' && e.delayMs >= 0 && e.delayMs <= 100, 'full jitter within the cap');
});

test('429 with Retry-After: waits at least that long before retrying', async (t) => {
  const { as, client, retries } = await setup([{ status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow_down' } }]);
  t.after(() => as.close());
  await client.getToken();
  assert.equal(as.requests.length, 2);
  const [retry] = retries();
  assert.ok(retry?.type === 'retry' && retry.status === 429 && retry.delayMs >= 1000);
  assert.ok(as.requests[1]!.at - as.requests[0]!.at >= 1000, 'Retry-After honoured');
});

test('a Retry-After longer than maxRetryAfterSeconds fails at once, and callers fail fast until it passes', async (t) => {
  const { as, client } = await setup([{ status: 429, headers: { 'retry-after': '120' }, body: { error: 'rate_limited' } }], {
    retry: { maxRetryAfterSeconds: 30, baseDelayMs: 1 },
  });
  t.after(() => as.close());
  const err = await client.getToken().catch((e: unknown) => e);
  assert.ok(err instanceof OAuthErrorResponse);
  assert.equal(err.status, 429);
  assert.equal(err.retryAfterSeconds, 120);
  assert.equal(as.requests.length, 1);
  // No retry storm: 100 more callers within the Retry-After window make no request.
  const again = await Promise.allSettled(Array.from({ length: 100 }, () => client.getToken()));
  assert.ok(again.every((r) => r.status === 'rejected' && r.reason === err));
  assert.equal(as.requests.length, 1);
});

test('dropped connections are retried as network errors', async (t) => {
  const { as, client, retries } = await setup(['drop', 'drop']);
  t.after(() => as.close());
  const token = await client.getToken();
  assert.ok(as.issued.has(token.accessToken));
  assert.equal(as.requests.length, 3);
  assert.deepEqual(retries().map((e) => e.type === 'retry' && e.code), ['ERR_NETWORK', 'ERR_NETWORK']);
});

test('persistent 500s: gives up after maxRetries with a typed error', async (t) => {
  const fail = { status: 500, body: { error: 'server_error', error_description: 'boom' } };
  const { as, client } = await setup([fail, fail, fail, fail, fail], { retry: { maxRetries: 2, baseDelayMs: 5 } });
  t.after(() => as.close());
  const err = await client.getToken().catch((e: unknown) => e);
  assert.ok(err instanceof OAuthErrorResponse);
  assert.equal(err.code, 'ERR_OAUTH_ERROR_RESPONSE');
  assert.equal(err.error, 'server_error');
  assert.equal(err.status, 500);
  assert.equal(err.retryable, true);
  assert.equal(as.requests.length, 3);
});

test('503 temporarily_unavailable then success', async (t) => {
  const { as, client } = await setup([{ status: 503, body: { error: 'temporarily_unavailable' } }]);
  t.after(() => as.close());
  await client.getToken();
  assert.equal(as.requests.length, 2);
});

test('a hanging server times out (ERR_TIMEOUT) and the attempt is retried', async (t) => {
  const { as, client, retries } = await setup(['hang', 'hang'], { timeoutMs: 200, retry: { maxRetries: 1, baseDelayMs: 1 } });
  t.after(() => as.close());
  await assert.rejects(client.getToken(), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_TIMEOUT');
  assert.equal(as.requests.length, 2);
  assert.equal(retries().length, 1);
});

test('client errors are never retried: invalid_client, invalid_scope, invalid_request', async (t) => {
  for (const [status, error] of [[401, 'invalid_client'], [400, 'invalid_scope'], [400, 'invalid_request'], [503, 'invalid_client']] as const) {
    const { as, client, retries } = await setup([{ status, body: { error, error_description: 'no' }, headers: status === 401 ? { 'www-authenticate': 'Basic realm="x"' } : {} }]);
    t.after(() => as.close());
    const err = await client.getToken().catch((e: unknown) => e);
    assert.ok(err instanceof OAuthErrorResponse, error);
    assert.equal(err.error, error);
    assert.equal(err.errorDescription, 'no');
    assert.equal(err.status, status);
    assert.equal(as.requests.length, 1, `${error} must not be retried`);
    assert.equal(retries().length, 0);
  }
});

test('malformed success responses are ERR_INVALID_RESPONSE and not retried', async (t) => {
  const bodies = ['not json', [], { token_type: 'Bearer' }, { access_token: 'x' }, { access_token: 'x', token_type: 'mac' }, { access_token: 'x', token_type: 'DPoP' }, { access_token: 'x', token_type: 'Bearer', expires_in: -5 }];
  for (const body of bodies) {
    const { as, client } = await setup([{ status: 200, body }]);
    t.after(() => as.close());
    await assert.rejects(client.getToken(), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_INVALID_RESPONSE', JSON.stringify(body));
    assert.equal(as.requests.length, 1);
  }
});

test('token_type is case-insensitive; missing expires_in falls back to the default lifetime', async (t) => {
  const { as, client } = await setup([{ status: 200, body: { access_token: 'opaque-1', token_type: 'bEaReR' } }], { defaultExpiresInSeconds: 120 });
  t.after(() => as.close());
  const before = Date.now();
  const token = await client.getToken();
  assert.equal(token.tokenType, 'Bearer');
  assert.ok(token.expiresAt >= before + 119_000 && token.expiresAt <= Date.now() + 120_000);
});

test('connection refused is ERR_NETWORK after retries', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const events: TokenClientEvent[] = [];
  const client = new TokenClient({ tokenEndpoint: `http://127.0.0.1:${port}/token`, auth, retry: { maxRetries: 2, baseDelayMs: 1 }, onEvent: (e) => events.push(e) });
  await assert.rejects(client.getToken(), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_NETWORK' && e.retryable && /ECONNREFUSED/.test(e.message));
  assert.equal(events.filter((e) => e.type === 'retry').length, 2);
});

test('a request fetch itself refuses names the reason, not only "fetch failed"', async () => {
  // Port 9 is on fetch's blocked-port list: undici's cause has no code, only a message.
  const client = new TokenClient({ tokenEndpoint: 'http://127.0.0.1:9/token', auth, retry: { maxRetries: 0 } });
  await assert.rejects(client.getToken(), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_NETWORK' && /bad port/.test(e.message));
});

test('a caller abort stops only that caller; the shared request completes for the others', async (t) => {
  const { as, client } = await setup([{ status: 503 }], { retry: { baseDelayMs: 300, maxDelayMs: 300 } });
  t.after(() => as.close());
  const controller = new AbortController();
  const aborted = client.getToken({ signal: controller.signal });
  const patient = client.getToken();
  controller.abort();
  await assert.rejects(aborted, (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_ABORTED');
  const token = await patient;
  assert.ok(as.issued.has(token.accessToken));
});

test('retry: false makes exactly one attempt', async (t) => {
  const { as, client } = await setup([{ status: 503 }], { retry: false });
  t.after(() => as.close());
  await assert.rejects(client.getToken(), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_HTTP_STATUS' && e.status === 503);
  assert.equal(as.requests.length, 1);
});

test('parseRetryAfter reads delay-seconds and HTTP-dates (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-3', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

test('an oversized token response (> 1 MiB) is refused without buffering it', async (t) => {
  const huge = JSON.stringify({ access_token: 'x'.repeat(2 * 1024 * 1024), token_type: 'Bearer', expires_in: 60 });
  const { as, client } = await setup([{ status: 200, body: huge }]);
  t.after(() => as.close());
  await assert.rejects(client.getToken(), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_INVALID_RESPONSE');
});
