import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { basic, pgAvailable, postForm, startTestServer } from '../helpers/harness.js';
import { ClientService } from '../../src/management/clients.service.js';

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`nothing secret in logs, metrics, responses or the ${store} store`, async () => {
    const skip = store === 'postgres' && !(await pgAvailable());

    it('every issued secret and token is absent everywhere it must not be', { skip }, async () => {
      const logs: string[] = [];
      const stream = new PassThrough();
      stream.on('data', (d) => logs.push(String(d)));
      const srv = await startTestServer({ store, logStream: stream, config: { rateLimitFailures: 1000 } });
      const secrets: string[] = [srv.admin.client_secret];
      const tokens: string[] = [];
      const responses: string[] = [];
      try {
        const jwtC = (await srv.createClient({ client_name: 'jwt', scope: 'a' })) as { client_id: string; client_secret: string };
        const opqC = (await srv.createClient({ client_name: 'opq', scope: 'a', access_token_format: 'opaque', token_endpoint_auth_method: 'client_secret_post' })) as {
          client_id: string;
          client_secret: string;
        };
        secrets.push(jwtC.client_secret, opqC.client_secret);
        for (let i = 0; i < 5; i++) {
          const a = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(jwtC.client_id, jwtC.client_secret) });
          const b = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: opqC.client_id, client_secret: opqC.client_secret });
          assert.equal(a.status, 200);
          assert.equal(b.status, 200);
          tokens.push(a.json.access_token, b.json.access_token);
        }
        // Failures carry secrets too: wrong ones, and right ones sent the wrong way.
        const wrong = 'lk_' + 'W'.repeat(43);
        secrets.push(wrong);
        for (const r of [
          await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(jwtC.client_id, wrong) }),
          await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: jwtC.client_id, client_secret: jwtC.client_secret }),
          await postForm(`${srv.url}/oauth2/token`, { grant_type: 'password', scope: 'zzz' }, { authorization: basic(opqC.client_id, opqC.client_secret) }),
          await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', scope: jwtC.client_secret }, { authorization: basic(jwtC.client_id, jwtC.client_secret) }),
        ]) {
          assert.ok(r.status >= 400);
          responses.push(r.text);
        }
        // Introspection/revocation when present: they receive tokens in the body.
        for (const path of ['/oauth2/introspect', '/oauth2/revoke']) {
          const r = await postForm(`${srv.url}${path}`, { token: tokens[1]! }, { authorization: basic(srv.admin.client_id, srv.admin.client_secret) });
          responses.push(r.status === 404 ? '' : r.text.replace(/"active":true.*/, ''));
        }
        const rotated = await new ClientService(srv.services).rotateSecret(jwtC.client_id, 'test', { graceSeconds: 60 });
        secrets.push(rotated.client_secret as string);
        const metrics = await (await fetch(`${srv.url}/metrics`)).text();

        let storeBytes = '';
        if (store === 'sqlite') {
          for (const f of readdirSync(srv.dataDir)) if (f.startsWith('latchkey.db')) storeBytes += readFileSync(join(srv.dataDir, f)).toString('latin1');
          assert.ok(storeBytes.length > 10_000, 'read the database file');
        } else {
          storeBytes = execFileSync('pg_dump', ['--data-only', srv.db], { encoding: 'utf8', maxBuffer: 64 << 20 });
          assert.ok(storeBytes.includes('client_secrets'), 'dumped the database');
        }
        const logText = logs.join('');
        assert.ok(logText.includes('"path":"/oauth2/token"'), 'request logs were captured');
        const places: [string, string][] = [
          ['logs', logText],
          ['metrics', metrics],
          ['error responses', responses.join('\n')],
          [store, storeBytes],
        ];
        for (const [where, text] of places) {
          for (const s of secrets) assert.ok(!text.includes(s), `a client secret appears in ${where}`);
          for (const t of tokens) assert.ok(!text.includes(t), `an access token appears in ${where}`);
          // The random part alone, in case of re-encoding.
          for (const s of secrets) assert.ok(!text.includes(s.slice(3)), `secret material appears in ${where}`);
        }
      } finally {
        await srv.close();
      }
    });
  });
}
