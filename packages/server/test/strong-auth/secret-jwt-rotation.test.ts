/**
 * client_secret_jwt and secret rotation (SPEC §3, §4 `rotate-secret --grace`): every unexpired secret
 * is an HMAC key, so a rotation with grace keeps the old secret signing until the grace ends — on a
 * real SQLite file and a real PostgreSQL database, over HTTP. Also: a store created before migration
 * 0003 (one sealed secret per client) keeps authenticating after it, and a sealed value moved to
 * another row does not open.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { createPgDatabase, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { clientRecord } from '../helpers/records.js';
import { api, tokenFor } from '../admin/helpers.js';
import { ASSERTION_TYPE, INVALID_CLIENT, assertion } from './helpers.js';
import { openStore } from '../../src/store/open-store.js';
import { migrations } from '../../src/store/migrations.js';
import { Sealer } from '../../src/keys/seal.js';
import { SecretHasher, generateSecret } from '../../src/client-auth/secret-hash.js';
import { secretAad } from '../../src/client-auth/secret-hash.js';
import type { Store } from '../../src/store/store.js';

const NO_LIMIT = { rateLimitFailures: 1_000_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The adapters' Kysely instance (protected): raw access for pre-0003 set-up and tampering. */
const dbOf = (s: Store) => (s as unknown as { db: Kysely<any> }).db;

type Secretful = { client_id: string; client_secret: string };

function sign(srv: TestServer, clientId: string, secret: string, alg = 'HS256'): Promise<string> {
  return assertion(new TextEncoder().encode(secret), clientId, srv.issuer, { header: { alg } });
}
async function tokenWith(srv: TestServer, clientId: string, secret: string) {
  return postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: await sign(srv, clientId, secret) });
}
async function assertRefused(srv: TestServer, clientId: string, secret: string, why: string) {
  const r = await tokenWith(srv, clientId, secret);
  assert.equal(r.status, 401, `${why}: ${r.text}`);
  assert.deepEqual(r.json, INVALID_CLIENT, `${why}: the error never says which secret or why`);
}
async function assertAccepted(srv: TestServer, clientId: string, secret: string, why: string) {
  const r = await tokenWith(srv, clientId, secret);
  assert.equal(r.status, 200, `${why}: ${r.text}`);
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`client_secret_jwt secret rotation — ${dialect}`, async () => {
    const skip = dialect === 'postgres' && !(await pgAvailable());
    let srv: TestServer;
    let admin: string;

    before(async () => {
      if (skip) return;
      srv = await startTestServer({ store: dialect, config: NO_LIMIT });
      admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    });
    after(async () => {
      if (!skip) await srv.close();
    });

    const rotate = async (id: string, grace: number) => {
      const r = await api(srv, 'POST', `/clients/${id}/rotate-secret`, { token: admin, body: { grace_seconds: grace } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      await srv.sync();
      return r.json as { client_secret: string; client_secrets_active: number };
    };

    it('rotate with grace: old and new secret both sign during the grace; after it the old one is invalid_client, the new one 200', { skip }, async () => {
      const c = (await srv.createClient({ client_name: 'cs-grace', scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' })) as Secretful;
      await assertAccepted(srv, c.client_id, c.client_secret, 'before rotation');
      const rotated = await rotate(c.client_id, 4);
      assert.equal(rotated.client_secrets_active, 2);
      // The exact end of the grace period, as stored (the API answer is rounded down to seconds).
      const old = (await srv.services.store.listSecrets(c.client_id)).find((s) => s.expires_at != null)!;
      const graceEnd = old.expires_at!;
      await assertAccepted(srv, c.client_id, c.client_secret, 'old secret inside the grace period');
      await assertAccepted(srv, c.client_id, rotated.client_secret, 'new secret inside the grace period');
      assert.ok(Date.now() < graceEnd, 'the requests above ran inside the grace period');
      // Several requests in a row, alternating, as a client fleet switching over would send them.
      for (let i = 0; i < 3; i++) {
        await assertAccepted(srv, c.client_id, i % 2 ? c.client_secret : rotated.client_secret, `request ${i} during the switch-over`);
      }
      assert.ok(Date.now() < graceEnd, 'still inside the grace period');
      while (Date.now() <= graceEnd + 20) await sleep(50);
      await assertRefused(srv, c.client_id, c.client_secret, 'old secret after the grace end');
      await assertAccepted(srv, c.client_id, rotated.client_secret, 'new secret after the grace end');
      // A secret that is neither (same length, same prefix) never verifies.
      await assertRefused(srv, c.client_id, generateSecret(), 'a secret that was never issued');
    });

    it('rotate without grace: the old secret is refused at once, the new one signs', { skip }, async () => {
      const c = (await srv.createClient({ client_name: 'cs-leaked', scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' })) as Secretful;
      await assertAccepted(srv, c.client_id, c.client_secret, 'before rotation');
      const rotated = await rotate(c.client_id, 0);
      await assertRefused(srv, c.client_id, c.client_secret, 'old secret after a rotation without grace');
      await assertAccepted(srv, c.client_id, rotated.client_secret, 'new secret');
    });

    it('two rotations with grace: every unexpired secret signs; HS512 stays refused for all of them (key shorter than 64 octets)', { skip }, async () => {
      const c = (await srv.createClient({ client_name: 'cs-twice', scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' })) as Secretful;
      const r1 = await rotate(c.client_id, 600);
      const r2 = await rotate(c.client_id, 600);
      assert.equal(r2.client_secrets_active, 3);
      for (const [name, s] of [['first', c.client_secret], ['second', r1.client_secret], ['third', r2.client_secret]] as const) {
        await assertAccepted(srv, c.client_id, s, `${name} secret`);
        const r = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: await sign(srv, c.client_id, s, 'HS512') });
        assert.equal(r.status, 401, `${name} secret with HS512`);
      }
      // A rotation without grace ends all three at once.
      const r3 = await rotate(c.client_id, 0);
      for (const s of [c.client_secret, r1.client_secret, r2.client_secret]) await assertRefused(srv, c.client_id, s, 'ended by a rotation without grace');
      await assertAccepted(srv, c.client_id, r3.client_secret, 'the newest');
    });

    it('each secret is sealed with its row bound in the AAD: a sealed value moved to another row or client does not open', { skip }, async () => {
      const x = (await srv.createClient({ client_name: 'cs-x', scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' })) as Secretful;
      const y = (await srv.createClient({ client_name: 'cs-y', scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' })) as Secretful;
      const store = srv.services.store;
      const [xRow] = await store.listSecrets(x.client_id);
      const [yRow] = await store.listSecrets(y.client_id);
      assert.match(xRow!.secret_sealed ?? '', /^v1\./, 'the row holds its sealed secret');
      // Someone with write access to the database (but not the KEK) copies y's sealed secret onto x's row.
      await dbOf(store).updateTable('client_secrets').set({ secret_sealed: yRow!.secret_sealed }).where('id', '=', xRow!.id).execute();
      await store.updateClient(x.client_id, {}); // a change event, so the node re-reads x
      await srv.sync();
      await assertRefused(srv, x.client_id, y.client_secret, "y's secret does not sign for x");
      await assertRefused(srv, x.client_id, x.client_secret, "x's own secret is gone from its row");
      await assertAccepted(srv, y.client_id, y.client_secret, 'y unaffected');
      // Within one client, moving the newer row's value onto the older row does not work either.
      const z = (await srv.createClient({ client_name: 'cs-z', scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' })) as Secretful;
      const zNew = await rotate(z.client_id, 600);
      const [zOld, zNewRow] = await store.listSecrets(z.client_id);
      await dbOf(store).updateTable('client_secrets').set({ secret_sealed: zNewRow!.secret_sealed }).where('id', '=', zOld!.id).execute();
      await dbOf(store).updateTable('client_secrets').set({ secret_sealed: null }).where('id', '=', zNewRow!.id).execute();
      await store.updateClient(z.client_id, {});
      await srv.sync();
      // The newest row has no value of its own now: the legacy per-client column (still written) answers for it.
      await assertAccepted(srv, z.client_id, zNew.client_secret, 'newest secret through clients.secret_sealed');
      await assertRefused(srv, z.client_id, z.client_secret, 'the old secret: its row holds a value sealed for another row');
    });
  });

  describe(`migration 0003 keeps client_secret_jwt clients of an older store working — ${dialect}`, async () => {
    const skip = dialect === 'postgres' && !(await pgAvailable());

    it('a store at 0002 with a rotated client_secret_jwt client authenticates after migrating; grace works from then on', { skip }, async () => {
      let url: string;
      let cleanup: () => Promise<void>;
      const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-mig3-'));
      if (dialect === 'sqlite') {
        url = `sqlite:${join(dataDir, 'old.db')}`;
        cleanup = async () => {};
      } else {
        const db = await createPgDatabase();
        url = db.url;
        cleanup = db.drop;
      }
      const kekBytes = randomBytes(32);
      const kek = kekBytes.toString('hex');
      const sealer = new Sealer(kekBytes);
      const hasher = new SecretHasher(kekBytes);
      let srv: TestServer | undefined;
      try {
        // 1. The schema as the previous release left it, written through the store's methods as the
        //    previous release called them (one sealed secret per client, in clients.secret_sealed).
        const old = openStore(url);
        const m = await new Migrator({ db: dbOf(old), provider: migrations(dialect) }).migrateTo('0002_client_registrations');
        assert.equal(m.error, undefined);
        const now = Date.now();
        const id = 'legacy-jwt';
        const first = generateSecret();
        const second = generateSecret();
        const rec = clientRecord(id, now - 60_000, {
          client_name: 'legacy',
          scope: 'a',
          audience: [],
          token_endpoint_auth_method: 'client_secret_jwt',
          secret_sealed: sealer.seal(first, secretAad(id)),
        });
        await old.insertClient(rec, { id: 'old-s1', client_id: id, hash: hasher.hash(first), created_at: now - 60_000, expires_at: null });
        // A rotation with a grace still running, made by the previous release: only `second` is sealed.
        await old.rotateSecret(id, { id: 'old-s2', client_id: id, hash: hasher.hash(second), created_at: now - 30_000, expires_at: null }, now + 3_600_000, sealer.seal(second, secretAad(id)));
        const basicSecret = generateSecret();
        await old.insertClient({ ...rec, client_id: 'legacy-basic', token_endpoint_auth_method: 'client_secret_basic', secret_sealed: null }, { id: 'old-b1', client_id: 'legacy-basic', hash: hasher.hash(basicSecret), created_at: now, expires_at: null });
        await old.close();

        // 2. This release starts on it: migrates to 0003.
        srv = await startTestServer({ db: url, dataDir, kek, config: NO_LIMIT });
        const rows = await srv.services.store.listSecrets(id);
        assert.deepEqual(rows.map((r) => r.id), ['old-s1', 'old-s2']);
        assert.equal(rows[1]!.secret_sealed, (await srv.services.store.getClient(id))!.secret_sealed, 'the newest secret got the sealed value');
        assert.equal(rows[0]!.secret_sealed, null, 'an older secret has none (it never was kept)');
        assert.equal((await srv.services.store.listSecrets('legacy-basic'))[0]!.secret_sealed, null, 'other methods get none');
        await assertAccepted(srv, id, second, 'the pre-migration secret still signs');
        // The previous release had already dropped `first` as an HMAC key; nothing can bring it back.
        await assertRefused(srv, id, first, 'a secret rotated away before the migration');

        // 3. A rotation with grace on the migrated client: the migrated (legacy-AAD) secret and the new one both sign.
        const admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
        const r = await api(srv, 'POST', `/clients/${id}/rotate-secret`, { token: admin, body: { grace_seconds: 600 } });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        await srv.sync();
        await assertAccepted(srv, id, second, 'migrated secret during the grace');
        await assertAccepted(srv, id, r.json.client_secret, 'new secret');
      } finally {
        await srv?.close();
        await cleanup();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
