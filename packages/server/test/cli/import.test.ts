import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basic, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { ClientService } from '../../src/management/clients.service.js';
import { importClients } from '../../src/management/client-import.js';

/** Issue #17 item 6: clients import from Latchkey, Keycloak and Ory Hydra JSON, and export — on SQLite and PostgreSQL. */

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const load = (f: string): unknown => JSON.parse(readFileSync(fixture(f), 'utf8'));
const KC_SECRET = 'kc-8f3c1a9e2b7d4e6f9a0b1c2d3e4f5a6b';
const HYDRA_SECRET = 'hydra-3b9f6c1e8a2d4f7b9c0e1a2b3c4d';

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`clients import / export (${store})`, async () => {
    const skip = store === 'postgres' && !(await pgAvailable());
    let srv: TestServer;
    let storeArgs: string[];
    let adminToken: string;
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${srv.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: r.status, json: (await r.json()) as any };
    };

    before(async () => {
      if (skip) return;
      srv = await startTestServer({ store });
      storeArgs = store === 'sqlite' ? ['--data-dir', srv.dataDir] : ['--db', srv.db, '--data-dir', srv.dataDir];
      const t = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', scope: 'latchkey:admin' }, { authorization: basic(srv.admin.client_id, srv.admin.client_secret) });
      adminToken = t.json.access_token;
    });
    after(async () => srv?.close());

    it('Keycloak realm export via the CLI: dry run writes nothing; service-account clients imported with their ids and secrets; the rest skipped with reasons', { skip, timeout: 120_000 }, async () => {
      const dry = await runCli(['clients', 'import', fixture('keycloak-realm-export.json'), '--dry-run', '--json', ...storeArgs]);
      assert.equal(dry.code, 0, dry.stderr);
      const d = JSON.parse(dry.stdout);
      assert.equal(d.format, 'keycloak');
      assert.equal(d.dry_run, true);
      assert.equal(await srv.services.store.getClient('billing-worker'), undefined, 'dry run wrote a client');

      const r = await runCli(['clients', 'import', fixture('keycloak-realm-export.json'), '--json', ...storeArgs]);
      assert.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(r.stdout);
      assert.deepEqual(rep.imported.map((i: { client_id: string }) => i.client_id).sort(), ['billing-worker', 'inventory-sync', 'reports-signer']);
      assert.deepEqual(rep.skipped.map((s: { client_id: string }) => s.client_id).sort(), ['account-console', 'ledger-api', 'merchant-portal']);
      assert.ok(!r.stdout.includes(KC_SECRET), 'the imported secret was echoed');
      const reports = rep.imported.find((i: { client_id: string }) => i.client_id === 'reports-signer');
      assert.match(reports.client_secret, /^lk_/, 'a masked secret gets a new one, shown once');
      await srv.sync();

      // The imported secret works as it did in Keycloak; scopes, audience, lifetime carried over.
      const tok = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic('billing-worker', KC_SECRET) });
      assert.equal(tok.status, 200, tok.text);
      assert.equal(tok.json.expires_in, 600);
      const claims = JSON.parse(Buffer.from(tok.json.access_token.split('.')[1], 'base64url').toString());
      assert.equal(claims.aud, 'https://ledger.payments.example');
      assert.equal(claims.scope, 'ledger.read');
      assert.equal((await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic('billing-worker', 'wrong-secret-0000000000') })).status, 401);
      const inv = await srv.services.store.getClient('inventory-sync');
      assert.equal(inv?.disabled, true);
      assert.equal(inv?.jwks_uri, 'https://inventory.payments.example/.well-known/jwks.json');

      // Flagged until rotated; never stored or audited in clear.
      const shown = JSON.parse((await runCli(['clients', 'show', 'billing-worker', '--json', ...storeArgs])).stdout);
      assert.equal(shown.secret_imported, true);
      const audit = JSON.stringify(await srv.services.store.queryAudit({ limit: 1000 }));
      assert.ok(audit.includes('client.import'));
      assert.ok(!audit.includes(KC_SECRET), 'secret in the audit log');
      const secrets = JSON.stringify(await srv.services.store.listSecrets('billing-worker'));
      assert.ok(!secrets.includes(KC_SECRET), 'secret stored in clear');
      const rotated = await new ClientService(srv.services).rotateSecret('billing-worker', 'test');
      assert.equal(rotated.secret_imported, undefined, 'rotation clears the flag');
    });

    it('Ory Hydra clients and a single Keycloak client via the admin API; export has no secrets and re-imports', { skip, timeout: 120_000 }, async () => {
      const h = await api('POST', '/clients/import', load('hydra-clients.json'));
      assert.equal(h.status, 200, JSON.stringify(h.json));
      assert.equal(h.json.format, 'hydra');
      assert.deepEqual(h.json.imported.map((i: { client_id: string }) => i.client_id).sort(), ['catalog-importer', 'search-indexer']);
      assert.deepEqual(h.json.skipped.map((s: { client_id: string }) => s.client_id).sort(), ['admin-dashboard', 'storefront-spa']);
      const kc = await api('POST', '/clients/import?dry_run=false', load('keycloak-client.json'));
      assert.equal(kc.status, 200);
      assert.deepEqual(kc.json.imported.map((i: { client_id: string }) => i.client_id), ['fraud-scorer']);
      await srv.sync();

      const tok = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: 'search-indexer', client_secret: HYDRA_SECRET });
      assert.equal(tok.status, 200, tok.text);
      assert.equal(tok.json.expires_in, 1800);
      assert.match(tok.json.access_token, /^lko_/, 'opaque strategy kept');
      const cat = await srv.services.store.getClient('catalog-importer');
      assert.equal(cat?.token_endpoint_auth_method, 'private_key_jwt');
      assert.equal(cat?.jwks?.keys.length, 1);

      const again = await api('POST', '/clients/import', load('hydra-clients.json'));
      assert.equal(again.json.imported.length, 0);
      assert.ok(again.json.skipped.some((s: { client_id: string; reason: string }) => s.client_id === 'search-indexer' && /already exists/.test(s.reason)));

      const ex = await api('GET', '/clients/export');
      assert.equal(ex.status, 200);
      assert.equal(ex.json.format, 'latchkey-clients');
      const text = JSON.stringify(ex.json);
      for (const bad of ['client_secret"', '"h1.', '"v1.', HYDRA_SECRET]) assert.ok(!text.includes(bad), `export contains ${bad}`);
      assert.ok(ex.json.clients.some((c: { client_id: string; secret_imported?: boolean }) => c.client_id === 'search-indexer' && c.secret_imported === true));

      // Latchkey's own format: the export re-imports (checked without writing) with the same ids.
      const ids = ex.json.clients.map((c: { client_id: string }) => c.client_id).sort();
      const rt = { ...srv.services };
      const dryOwn = await importClients(new ClientService(rt), { ...ex.json, clients: ex.json.clients.map((c: { client_id: string }) => ({ ...c, client_id: `copy.${c.client_id}` })) }, 'test', { dryRun: true });
      assert.equal(dryOwn.format, 'latchkey');
      assert.deepEqual(dryOwn.skipped, []);
      assert.deepEqual(dryOwn.imported.map((i) => i.client_id.slice(5)).sort(), ids);
    });

    it('admin API: import needs latchkey:admin and a JSON document', { skip }, async () => {
      const noAuth = await fetch(`${srv.url}/admin/v1/clients/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
      assert.equal(noAuth.status, 401);
      const bad = await api('POST', '/clients/import?format=nope', []);
      assert.equal(bad.status, 400);
      const empty = await api('POST', '/clients/import', []);
      assert.equal(empty.status, 400);
      assert.equal(empty.json.error, 'invalid_request');
    });
  });
}
