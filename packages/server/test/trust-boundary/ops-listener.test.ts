import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { freePort, startTestServer, type TestServer } from '../helpers/harness.js';

/** Issue #14 item 6: a separate operations listener (opsHost/opsPort) for /metrics, /healthz, /readyz. */
describe('ops listener', () => {
  let srv: TestServer;
  let plain: TestServer;
  let opsPort: number;
  const lines: string[] = [];

  before(async () => {
    opsPort = await freePort();
    const stream = new PassThrough();
    stream.on('data', (b: Buffer) => lines.push(...b.toString('utf8').split('\n').filter(Boolean)));
    srv = await startTestServer({ config: { opsPort, opsHost: '127.0.0.1', trustProxy: '127.0.0.1,10.0.0.0/8', logLevel: 'warn' }, logStream: stream });
    plain = await startTestServer();
  });
  after(async () => {
    await srv.close();
    await plain.close();
  });

  it('with opsPort: /metrics only on the ops listener; /healthz and /readyz on both', async () => {
    const ops = srv.running.ops;
    assert.ok(ops);
    assert.equal(ops.url, `http://127.0.0.1:${opsPort}`);
    const m = await fetch(`${ops.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /latchkey_/);
    const pub = await fetch(`${srv.url}/metrics`);
    assert.equal(pub.status, 404);
    assert.equal(((await pub.json()) as { error: string }).error, 'not_found');
    for (const base of [ops.url, srv.url]) {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
    }
  });

  it('the ops listener serves nothing else (no token endpoint, no admin API, no discovery)', async () => {
    const ops = srv.running.ops!;
    for (const path of ['/oauth2/token', '/admin/v1/clients', '/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
      const r = await fetch(`${ops.url}${path}`, { method: path === '/oauth2/token' ? 'POST' : 'GET' });
      assert.equal(r.status, 404, path);
    }
  });

  it('without opsPort: all three on the public listener, no ops listener', async () => {
    assert.equal(plain.running.ops, undefined);
    for (const p of ['/metrics', '/healthz', '/readyz']) assert.equal((await fetch(`${plain.url}${p}`)).status, 200, p);
  });

  it('a trustProxy range gets a start-up warning naming it', () => {
    const w = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('trustProxy names address ranges'));
    assert.ok(w, lines.join('\n'));
    assert.equal(w.level, 40);
    assert.match(w.msg, /10\.0\.0\.0\/8/);
    assert.doesNotMatch(w.msg, /127\.0\.0\.1[,)]/);
  });
});
