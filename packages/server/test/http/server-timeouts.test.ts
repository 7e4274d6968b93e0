import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/harness.js';

/** Both listeners (node:http fast path and Fastify's own) run with the same connection timeouts. */
describe('server timeouts', () => {
  for (const fast of [true, false]) {
    it(`${fast ? 'fast path' : 'Fastify'} server: keep-alive 10 s, request 30 s, idle socket 30 s`, async () => {
      if (!fast) process.env.LATCHKEY_NO_FAST_PATH = '1';
      const srv = await startTestServer();
      delete process.env.LATCHKEY_NO_FAST_PATH;
      try {
        const s = srv.running.http.server as unknown as { keepAliveTimeout: number; requestTimeout: number; timeout: number; headersTimeout: number };
        assert.equal(s.keepAliveTimeout, 10_000);
        assert.equal(s.requestTimeout, 30_000);
        assert.equal(s.timeout, 30_000);
        assert.ok(s.headersTimeout <= 60_000);
      } finally {
        await srv.close();
      }
    });
  }
});
