import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { maskSecrets } from '../../src/app/log-mask.js';
import { createLogger } from '../../src/app/server.js';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';

/** Issue #14 item 6: values that look like Latchkey secrets or tokens are masked in every log field. */
describe('log masking: secrets and tokens never reach the log', () => {
  let srv: TestServer;
  let lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (b: Buffer) => lines.push(...b.toString('utf8').split('\n').filter(Boolean)));

  before(async () => {
    srv = await startTestServer({ logStream: stream, config: { logLevel: 'info' } });
  });
  after(() => srv.close());

  it('a real secret pasted into client_id (body and Basic user) and a JWT are masked; the log stays JSON', async () => {
    const victim = await srv.createClient({ client_name: 'v', scope: 'a' });
    const secret = victim.client_secret!;
    assert.ok(secret.startsWith('lk_'));
    const jwt = (await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(victim.client_id, secret) })).json.access_token as string;
    lines = [];
    await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: secret, client_secret: 'lk_wrong' });
    await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(secret, 'x') });
    await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: jwt, client_secret: 'x' });
    await new Promise((r) => setTimeout(r, 100));
    const text = lines.join('\n');
    assert.ok(lines.length >= 3, text);
    for (const l of lines) JSON.parse(l);
    assert.ok(!text.includes(secret.slice(3)), 'secret in the log');
    assert.ok(!text.includes(jwt.split('.')[1]!), 'token in the log');
    assert.match(text, /token request refused/);
  });

  it('any logger field, nested or in the message, is masked (createLogger directly)', () => {
    const out: string[] = [];
    const s = new PassThrough();
    s.on('data', (b: Buffer) => out.push(b.toString('utf8')));
    const log = createLogger('info', s);
    const iat = 'lki_' + randomBytes(32).toString('base64url');
    const rat = 'lkr_' + randomBytes(32).toString('base64url');
    const opaque = 'lko_' + randomBytes(32).toString('base64url');
    const bare = randomBytes(32).toString('base64url');
    const kid = randomBytes(32).toString('base64url');
    log.info({ nested: { deeper: [iat] }, weird_field: rat, kid }, `message with ${opaque} and ${bare}`);
    log.error({ err: new Error(`failed for ${iat}`) }, 'boom');
    const text = out.join('');
    for (const v of [iat, rat, opaque, bare]) assert.ok(!text.includes(v.slice(4)), `${v.slice(0, 4)} leaked: ${text}`);
    assert.ok(text.includes(kid), 'a key id stays readable');
    assert.match(text, /lki_\[masked\]/);
  });

  it('fuzz: the masked line is still JSON and keeps no prefixed secret', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('lk_', 'lki_', 'lkr_', 'lko_'), fc.string(), (pre, prefix, post) => {
        const secret = prefix + randomBytes(24).toString('base64url');
        const line = JSON.stringify({ a: `${pre} ${secret} ${post}`, b: [pre, post] });
        const masked = maskSecrets(line);
        JSON.parse(masked);
        assert.ok(!masked.includes(secret.slice(prefix.length)));
      }),
      { numRuns: 500 },
    );
  });
});
