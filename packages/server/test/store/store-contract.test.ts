/**
 * Store conformance suite: one set of expectations, run against every adapter (SQLite and PostgreSQL),
 * on real databases. Every method of the Store interface is exercised; the last test fails when a
 * method is added to the adapters without a contract test here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { KyselyStore } from '../../src/store/kysely-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import type { ClientRecord, ClientSecretRecord, OpaqueTokenRecord, SigningKeyRecord } from '../../src/store/types.js';
import { StoreUnavailableError } from '../../src/shared/errors.js';
import { createPgDatabase, pgAvailable } from '../helpers/harness.js';
import { clientRecord } from '../helpers/records.js';

/** Methods this suite covers; compared with the adapters' methods at the end. */
const COVERED = new Set<string>();
const covers = (...names: string[]) => names.forEach((n) => COVERED.add(n));

// Epoch ms well beyond 2^31 and 2^32: must come back as the same JS numbers from both dialects.
const T0 = 1_790_000_000_000;

const client = (id: string, over: Partial<ClientRecord> = {}): ClientRecord => clientRecord(id, T0, over);
const secret = (id: string, clientId: string, created: number, expires: number | null = null, sealed: string | null = null): ClientSecretRecord => ({
  id,
  client_id: clientId,
  hash: `hash-${id}`,
  created_at: created,
  expires_at: expires,
  secret_sealed: sealed,
});
function key(kid: string, activate: number): SigningKeyRecord {
  return {
    kid,
    alg: 'ES256',
    public_jwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` },
    private_sealed: `v1.sealed-${kid}`,
    created_at: activate - 1000,
    publish_at: activate - 1000,
    activate_at: activate,
    retired_at: null,
    expires_at: null,
  };
}
const opaque = (hash: string, exp: number, over: Partial<OpaqueTokenRecord> = {}): OpaqueTokenRecord => ({
  token_hash: hash,
  jti: `jti-${hash}`,
  client_id: 'c1',
  scope: 'a b',
  aud: ['https://api.example.com'],
  iat: exp - 3600,
  exp,
  cnf: null,
  token_type: 'Bearer',
  ...over,
});

const nowSec = () => Math.floor(Date.now() / 1000);

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`Store contract — ${dialect}`, async () => {
    const skip = dialect === 'postgres' && !(await pgAvailable());
    let store: Store;
    let cleanup: () => Promise<void>;

    before(async () => {
      if (skip) return;
      if (dialect === 'sqlite') {
        const dir = mkdtempSync(join(tmpdir(), 'latchkey-contract-'));
        store = openStore(`sqlite:${join(dir, 'store.db')}`);
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const db = await createPgDatabase();
        store = openStore(db.url);
        cleanup = db.drop;
      }
      await store.migrate();
    });
    after(async () => {
      if (skip) return;
      await store.close();
      await cleanup();
    });

    it('migrate is idempotent; ping answers; dialect is named', { skip }, async () => {
      covers('migrate', 'ping', 'close');
      await store.migrate();
      await store.ping();
      assert.equal(store.dialect, dialect);
    });

    it('clients: insert (with secret) / get round-trip every field; duplicates refused; each change is fed', { skip }, async () => {
      covers('insertClient', 'getClient', 'latestChangeSeq', 'changesSince');
      const seq0 = await store.latestChangeSeq();
      const full = client('c1', {
        default_scope: 'a',
        jwks: { keys: [{ kty: 'EC', kid: 'k' }] },
        access_token_ttl: 120,
        access_token_format: 'opaque',
        extra: { dpop_bound_access_tokens: true, tls_client_auth_subject_dn: 'CN=x' },
        secret_sealed: 'v1.sealed',
        disabled: true,
      });
      await store.insertClient(full, secret('s1', 'c1', T0));
      assert.deepEqual(await store.getClient('c1'), full);
      assert.equal(await store.getClient('nope'), undefined);
      await assert.rejects(store.insertClient(client('c1')), (e) => !(e instanceof StoreUnavailableError), 'a duplicate is a bug, not an outage');
      const ch = await store.changesSince(seq0);
      assert.deepEqual(
        ch.map((c) => [c.kind, c.ref]),
        [['client', 'c1']],
      );
      assert.ok(ch[0]!.seq > seq0 && Math.abs(ch[0]!.at - Date.now()) < 60_000);
      assert.equal(await store.latestChangeSeq(), ch[0]!.seq);
      assert.deepEqual(await store.listSecrets('c1'), [secret('s1', 'c1', T0)]);
    });

    it('clients: list with search (LIKE metacharacters escaped), paging and total; allClients', { skip }, async () => {
      covers('listClients', 'allClients');
      await store.insertClient(client('svc_a', { client_name: '100% orders', created_at: T0 + 1 }));
      await store.insertClient(client('svcXa', { client_name: 'plain', created_at: T0 + 2 }));
      await store.insertClient(client('other', { client_name: 'Orders team', created_at: T0 + 3 }));
      const all = await store.listClients();
      assert.equal(all.total, 4);
      assert.deepEqual(
        all.clients.map((c) => c.client_id),
        ['c1', 'svc_a', 'svcXa', 'other'],
        'ordered by creation',
      );
      const underscore = await store.listClients({ search: 'svc_' });
      assert.deepEqual(
        underscore.clients.map((c) => c.client_id),
        ['svc_a'],
        '_ is literal, not a wildcard',
      );
      assert.deepEqual((await store.listClients({ search: '100%' })).clients.map((c) => c.client_id), ['svc_a']);
      const page = await store.listClients({ limit: 2, offset: 1 });
      assert.deepEqual(
        page.clients.map((c) => c.client_id),
        ['svc_a', 'svcXa'],
      );
      assert.equal(page.total, 4);
      assert.deepEqual((await store.allClients()).map((c) => c.client_id).sort(), ['c1', 'other', 'svcXa', 'svc_a']);
    });

    it('clients: update returns the new record and feeds a change; unknown → undefined; delete cascades', { skip }, async () => {
      covers('updateClient', 'deleteClient');
      const seq = await store.latestChangeSeq();
      const upd = await store.updateClient('svcXa', { client_name: 'renamed', audience: ['https://x.example.com'], disabled: true, updated_at: T0 + 50 });
      assert.deepEqual(upd, { ...client('svcXa', { created_at: T0 + 2 }), client_name: 'renamed', audience: ['https://x.example.com'], disabled: true, updated_at: T0 + 50 });
      assert.deepEqual(await store.getClient('svcXa'), upd);
      assert.equal(await store.updateClient('nope', { client_name: 'x' }), undefined);
      assert.deepEqual((await store.changesSince(seq)).map((c) => c.ref), ['svcXa']);
      await store.insertClient(client('doomed'), secret('sd', 'doomed', T0));
      await store.insertClientRegistration({ client_id: 'doomed', token_hash: 'rat', scope_cap: null, created_at: T0, created_by: 'iat' });
      assert.equal(await store.deleteClient('doomed'), true);
      assert.equal(await store.deleteClient('doomed'), false);
      assert.equal(await store.getClient('doomed'), undefined);
      assert.deepEqual(await store.listSecrets('doomed'), []);
      assert.equal(await store.getClientRegistration('doomed'), undefined, 'registration deleted with its client');
    });

    it('secrets: rotation caps older secrets at the grace end (never extends), adds the new one, may reseal; expired ones are deleted', { skip }, async () => {
      covers('listSecrets', 'allSecrets', 'rotateSecret', 'deleteExpiredSecrets');
      await store.insertClient(client('rot'), secret('r1', 'rot', T0));
      // An older secret that already ends sooner than the new grace keeps its earlier end.
      await store.rotateSecret('rot', secret('r2', 'rot', T0 + 10), T0 + 5_000);
      await store.rotateSecret('rot', secret('r3', 'rot', T0 + 20), T0 + 60_000, 'v1.resealed');
      assert.deepEqual(await store.listSecrets('rot'), [secret('r1', 'rot', T0, T0 + 5_000), secret('r2', 'rot', T0 + 10, T0 + 60_000), secret('r3', 'rot', T0 + 20)]);
      assert.equal((await store.getClient('rot'))!.secret_sealed, 'v1.resealed');
      const seq = await store.latestChangeSeq();
      await store.rotateSecret('rot', secret('r4', 'rot', T0 + 30), T0 + 1);
      assert.deepEqual((await store.changesSince(seq)).map((c) => [c.kind, c.ref]), [['client', 'rot']]);
      assert.equal((await store.getClient('rot'))!.secret_sealed, 'v1.resealed', 'undefined leaves the sealed secret alone');
      assert.ok((await store.allSecrets()).some((s) => s.id === 'r4'));
      assert.equal(await store.deleteExpiredSecrets(T0 + 2), 3, 'r1, r2, r3 ended at T0+1');
      assert.deepEqual((await store.listSecrets('rot')).map((s) => s.id), ['r4']);
      assert.equal(await store.deleteExpiredSecrets(T0 + 2), 0);
    });

    it('secrets: each secret keeps its own sealed value (client_secret_jwt) through insert, rotation and reads; absent → null', { skip }, async () => {
      covers('listSecrets', 'allSecrets', 'rotateSecret', 'insertClient');
      await store.insertClient(client('jwt', { token_endpoint_auth_method: 'client_secret_jwt', secret_sealed: 'v1.legacy-1' }), secret('j1', 'jwt', T0, null, 'v1.row-j1'));
      await store.rotateSecret('jwt', secret('j2', 'jwt', T0 + 10, null, 'v1.row-j2'), T0 + 60_000, 'v1.legacy-2');
      assert.deepEqual(await store.listSecrets('jwt'), [secret('j1', 'jwt', T0, T0 + 60_000, 'v1.row-j1'), secret('j2', 'jwt', T0 + 10, null, 'v1.row-j2')]);
      assert.deepEqual(
        (await store.allSecrets()).filter((s) => s.client_id === 'jwt').sort((a, b) => a.created_at - b.created_at).map((s) => s.secret_sealed),
        ['v1.row-j1', 'v1.row-j2'],
      );
      assert.equal((await store.getClient('jwt'))!.secret_sealed, 'v1.legacy-2', 'the legacy per-client value is still replaced');
      // A record without the field (callers of the previous release) stores null.
      const { secret_sealed: _none, ...bare } = secret('j3', 'jwt', T0 + 20);
      await store.rotateSecret('jwt', bare, T0 + 60_000);
      assert.equal((await store.listSecrets('jwt')).find((s) => s.id === 'j3')!.secret_sealed, null);
      await store.deleteClient('jwt');
    });

    it('signing keys: insert / list by activation / update (incl. JWK) / delete, each fed as a key change', { skip }, async () => {
      covers('listKeys', 'insertKey', 'updateKey', 'deleteKey');
      const seq = await store.latestChangeSeq();
      await store.insertKey(key('k2', T0 + 2000));
      await store.insertKey(key('k1', T0 + 1000));
      assert.deepEqual(await store.listKeys(), [key('k1', T0 + 1000), key('k2', T0 + 2000)]);
      await store.updateKey('k1', { retired_at: T0 + 2000, expires_at: T0 + 90_000_000, public_jwk: { kty: 'EC', crv: 'P-256', x: 'X', y: 'Y' } });
      const [k1] = await store.listKeys();
      assert.deepEqual(k1, { ...key('k1', T0 + 1000), retired_at: T0 + 2000, expires_at: T0 + 90_000_000, public_jwk: { kty: 'EC', crv: 'P-256', x: 'X', y: 'Y' } });
      await store.deleteKey('k1');
      assert.deepEqual((await store.listKeys()).map((k) => k.kid), ['k2']);
      assert.deepEqual(
        (await store.changesSince(seq)).map((c) => [c.kind, c.ref]),
        [
          ['key', 'k2'],
          ['key', 'k1'],
          ['key', 'k1'],
          ['key', 'k1'],
        ],
      );
    });

    it('change feed: recordChange, changesSince with limit, pruneChanges', { skip }, async () => {
      covers('recordChange', 'pruneChanges');
      const seq = await store.latestChangeSeq();
      for (const ref of ['a', 'b', 'c']) await store.recordChange('config', ref);
      const two = await store.changesSince(seq, 2);
      assert.deepEqual(two.map((c) => c.ref), ['a', 'b']);
      assert.deepEqual((await store.changesSince(two[1]!.seq)).map((c) => c.ref), ['c']);
      assert.ok(two[0]!.seq < two[1]!.seq);
      assert.equal(await store.pruneChanges(Date.now() - 3_600_000), 0, 'nothing is an hour old');
      const n = await store.pruneChanges(Date.now() + 1000);
      assert.ok(n >= 3);
      assert.deepEqual(await store.changesSince(0), []);
      await store.recordChange('config', 'after-prune');
      assert.ok((await store.latestChangeSeq()) > two[1]!.seq, 'sequence keeps growing after a prune');
    });

    it('audit: newest first, since / target / limit filters, JSON before/after round-trip', { skip }, async () => {
      covers('addAudit', 'queryAudit');
      await store.addAudit({ at: T0, actor: 'cli:alice', action: 'client.create', target: 'c1', before: null, after: { scope: 'a b', n: 1 } });
      await store.addAudit({ at: T0 + 10, actor: 'admin:x', action: 'client.update', target: 'c1', before: { scope: 'a b' }, after: { scope: 'a' } });
      await store.addAudit({ at: T0 + 20, actor: 'scheduler:h:1', action: 'key.rotate', target: 'k9', before: null, after: { kid: 'k9' } });
      const all = await store.queryAudit();
      assert.deepEqual(
        all.map((a) => a.action),
        ['key.rotate', 'client.update', 'client.create'],
      );
      assert.deepEqual({ ...all[1], id: undefined }, { id: undefined, at: T0 + 10, actor: 'admin:x', action: 'client.update', target: 'c1', before: { scope: 'a b' }, after: { scope: 'a' } });
      assert.equal(typeof all[0]!.id, 'number');
      assert.deepEqual((await store.queryAudit({ target: 'c1' })).map((a) => a.at), [T0 + 10, T0]);
      assert.deepEqual((await store.queryAudit({ since: T0 + 10 })).map((a) => a.at), [T0 + 20, T0 + 10]);
      assert.deepEqual((await store.queryAudit({ limit: 1 })).map((a) => a.action), ['key.rotate']);
    });

    it('opaque tokens: batch insert, get round-trip (aud, cnf), delete fed as an opaque_revocation change (hash), expiry clean-up (exp < now)', { skip }, async () => {
      covers('insertOpaqueTokens', 'getOpaqueToken', 'deleteOpaqueToken', 'deleteExpiredOpaqueTokens');
      const now = nowSec();
      const seq = await store.latestChangeSeq();
      const bound = opaque('h-bound', now + 600, { cnf: { jkt: 'thumb' }, token_type: 'DPoP', aud: ['https://a', 'https://b'] });
      await store.insertOpaqueTokens([]);
      await store.insertOpaqueTokens([opaque('h-live', now + 600), bound, opaque('h-dead', now - 1), opaque('h-edge', now)]);
      assert.deepEqual(await store.getOpaqueToken('h-bound'), bound);
      assert.deepEqual(await store.getOpaqueToken('h-live'), opaque('h-live', now + 600));
      assert.equal(await store.getOpaqueToken('h-none'), undefined);
      await assert.rejects(store.insertOpaqueTokens([opaque('h-live', now + 1)]), 'token hashes are unique');
      assert.equal(await store.deleteOpaqueToken('h-bound'), true);
      assert.equal(await store.getOpaqueToken('h-bound'), undefined);
      assert.equal(await store.deleteOpaqueToken('h-bound'), false);
      assert.equal(await store.deleteOpaqueToken('h-none'), false);
      // Exactly one change, for the delete that deleted, keyed by the hash: other nodes' caches drop that entry.
      assert.deepEqual(
        (await store.changesSince(seq)).map((c) => [c.kind, c.ref]),
        [['opaque_revocation', 'h-bound']],
      );
      assert.equal(await store.deleteExpiredOpaqueTokens(now), 1, 'only exp < now');
      assert.equal(await store.getOpaqueToken('h-dead'), undefined);
      assert.ok(await store.getOpaqueToken('h-edge'));
      // A large batch goes in as one group commit.
      const many = Array.from({ length: 500 }, (_, i) => opaque(`bulk-${i}`, now + 60));
      await store.insertOpaqueTokens(many);
      assert.deepEqual(await store.getOpaqueToken('bulk-499'), many[499]);
    });

    it('revoked jtis: idempotent revoke fed as a revocation change; lookup; listing of live ones; clean-up', { skip }, async () => {
      covers('revokeJti', 'isJtiRevoked', 'revokedJtisSince', 'deleteExpiredRevocations');
      const now = nowSec();
      const seq = await store.latestChangeSeq();
      await store.revokeJti('j-live', 'c1', now + 600);
      await store.revokeJti('j-live', 'c1', now + 600);
      await store.revokeJti('j-dead', 'c1', now - 10);
      assert.equal(await store.isJtiRevoked('j-live'), true);
      assert.equal(await store.isJtiRevoked('j-other'), false);
      assert.deepEqual(
        (await store.changesSince(seq)).map((c) => [c.kind, c.ref]),
        [
          ['revocation', 'j-live'],
          ['revocation', 'j-live'],
          ['revocation', 'j-dead'],
        ],
      );
      assert.deepEqual(await store.revokedJtisSince(now), [{ jti: 'j-live', exp: now + 600 }]);
      assert.equal(await store.deleteExpiredRevocations(now), 1);
      assert.equal(await store.isJtiRevoked('j-dead'), false);
      assert.equal(await store.isJtiRevoked('j-live'), true);
    });

    it('useOnce: first use wins, replay refused, expired entries reusable; atomic under concurrency', { skip }, async () => {
      covers('useOnce', 'useOnceMany', 'deleteExpiredUseOnce');
      const now = nowSec();
      assert.equal(await store.useOnce('u1', now + 60), true);
      assert.equal(await store.useOnce('u1', now + 60), false);
      assert.equal(await store.useOnce('u-old', now - 5), true);
      assert.equal(await store.useOnce('u-old', now + 60), true, 'an expired entry may be used again');
      assert.equal(await store.useOnce('u-old', now + 60), false);
      const racers = await Promise.all(Array.from({ length: 12 }, () => store.useOnce('u-race', now + 60)));
      assert.equal(racers.filter(Boolean).length, 1, 'exactly one concurrent caller wins');
      const got = await store.useOnceMany([
        { key: 'm1', exp: now + 60 },
        { key: 'u1', exp: now + 60 },
        { key: 'm2', exp: now + 60 },
      ]);
      assert.deepEqual([...got].sort(), ['m1', 'm2']);
      assert.deepEqual(await store.useOnceMany([]), new Set());
      await store.useOnce('u-exp', now - 1);
      assert.ok((await store.deleteExpiredUseOnce(now)) >= 1);
      assert.equal(await store.useOnce('u1', now + 60), false, 'live entries survive the clean-up');
      // Clean-up runs in batches (100 rows per statement): every expired row goes, across batches.
      await store.useOnceMany(Array.from({ length: 1234 }, (_, i) => ({ key: `bulk-${i}`, exp: now - 10 })));
      assert.equal(await store.deleteExpiredUseOnce(now), 1234);
      assert.equal(await store.deleteExpiredUseOnce(now), 0);
      assert.equal(await store.useOnce('m1', now + 60), false, 'live entries survive the batched clean-up');
    });

    it('registration tokens and client registrations (RFC 7591 / 7592)', { skip }, async () => {
      covers('insertRegistrationToken', 'getRegistrationToken', 'deleteRegistrationToken', 'listRegistrationTokens', 'insertClientRegistration', 'getClientRegistration');
      covers('reserveRegistration', 'releaseRegistration', 'rotateRegistrationAccessToken');
      const a = { token_hash: 'iat-a', scope: 'a', created_at: T0, expires_at: T0 + 3_600_000, created_by: 'cli:alice', audience: ['https://a.example'], max_clients: 2, clients_registered: 0 };
      // A legacy row (before migration 0005): no audience cap, no quota.
      const b = { token_hash: 'iat-b', scope: null, created_at: T0 + 5, expires_at: null, created_by: 'admin', audience: null, max_clients: null, clients_registered: 0 };
      await store.insertRegistrationToken(a);
      await store.insertRegistrationToken(b);
      assert.deepEqual(await store.getRegistrationToken('iat-a'), a);
      assert.deepEqual(await store.listRegistrationTokens(), [b, a]);
      // SPEC §7 quota: two reservations, then no more; a release gives one back; expired and legacy tokens reserve nothing.
      assert.equal(await store.reserveRegistration('iat-a', T0), true);
      assert.equal(await store.reserveRegistration('iat-a', T0), true);
      assert.equal(await store.reserveRegistration('iat-a', T0), false, 'max_clients reached');
      assert.equal((await store.getRegistrationToken('iat-a'))!.clients_registered, 2);
      await store.releaseRegistration('iat-a');
      assert.equal((await store.getRegistrationToken('iat-a'))!.clients_registered, 1);
      assert.equal(await store.reserveRegistration('iat-a', T0 + 3_600_000), false, 'expired');
      assert.equal(await store.reserveRegistration('iat-b', T0), false, 'legacy: no quota, no registrations');
      assert.equal(await store.reserveRegistration('nope', T0), false);
      assert.equal(await store.deleteRegistrationToken('iat-a'), true);
      assert.equal(await store.deleteRegistrationToken('iat-a'), false);
      assert.equal(await store.getRegistrationToken('iat-a'), undefined);
      const reg = { client_id: 'c1', token_hash: 'rat-hash', scope_cap: 'a', created_at: T0, created_by: 'iat-b', audience_cap: ['https://a.example'], token_issued_at: T0 };
      await store.insertClientRegistration(reg);
      assert.deepEqual(await store.getClientRegistration('c1'), reg);
      assert.equal(await store.getClientRegistration('other'), undefined);
      // RFC 7592 §3 rotation: compare-and-set on the current hash.
      assert.equal(await store.rotateRegistrationAccessToken('c1', 'not-current', 'rat-2', T0 + 9), false);
      assert.equal(await store.rotateRegistrationAccessToken('c1', 'rat-hash', 'rat-2', T0 + 9), true);
      assert.equal(await store.rotateRegistrationAccessToken('c1', 'rat-hash', 'rat-3', T0 + 10), false, 'the old hash no longer matches');
      assert.deepEqual(await store.getClientRegistration('c1'), { ...reg, token_hash: 'rat-2', token_issued_at: T0 + 9 });
    });

    it('trusted issuers and federated identities (SPEC §9): round-trip, unique name/issuer and (issuer, subject), fed', { skip }, async () => {
      covers('insertTrustedIssuer', 'getTrustedIssuer', 'listTrustedIssuers', 'updateTrustedIssuer', 'deleteTrustedIssuer', 'countFederatedClients');
      const ti = {
        name: 'k8s',
        issuer: 'https://kubernetes.default.svc',
        kind: 'kubernetes' as const,
        jwks_uri: null,
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] },
        max_assertion_lifetime: 3600,
        single_use: true,
        created_at: T0,
        updated_at: T0,
      };
      const seq = await store.latestChangeSeq();
      await store.insertTrustedIssuer(ti);
      assert.deepEqual(await store.getTrustedIssuer('k8s'), ti);
      assert.deepEqual((await store.changesSince(seq)).map((e) => [e.kind, e.ref]), [['trusted_issuer', 'k8s']]);
      await assert.rejects(store.insertTrustedIssuer({ ...ti, name: 'other' }), (e: Error) => e.name === 'DuplicateError', 'same issuer URL');
      await assert.rejects(store.insertTrustedIssuer({ ...ti, issuer: 'https://x.example' }), (e: Error) => e.name === 'DuplicateError', 'same name');
      const gh = { ...ti, name: 'gh', issuer: 'https://token.actions.githubusercontent.com', kind: 'github' as const, jwks: null, single_use: false };
      await store.insertTrustedIssuer(gh);
      assert.deepEqual(await store.listTrustedIssuers(), [gh, ti]);
      const fed = { issuer: 'k8s', subject: 'system:serviceaccount:ns:app', claims: { 'kubernetes.io/namespace': 'ns' } };
      await store.insertClient(client('fed1', { token_endpoint_auth_method: 'federated_jwt', federated_identity: fed }));
      assert.deepEqual((await store.getClient('fed1'))!.federated_identity, fed);
      await assert.rejects(store.insertClient(client('fed2', { token_endpoint_auth_method: 'federated_jwt', federated_identity: { issuer: 'k8s', subject: fed.subject } })), (e: Error) => e.name === 'DuplicateError');
      await store.insertClient(client('fed3', { token_endpoint_auth_method: 'federated_jwt', federated_identity: { issuer: 'gh', subject: fed.subject } }));
      await assert.rejects(store.updateClient('fed3', { federated_identity: { issuer: 'k8s', subject: fed.subject } }), (e: Error) => e.name === 'DuplicateError');
      assert.equal(await store.countFederatedClients('k8s'), 1);
      // Update: keys and rules change; name, issuer, kind and created_at stay whatever the record says; fed once.
      const seq2 = await store.latestChangeSeq();
      const rotated = { ...ti, issuer: 'https://ignored.example', kind: 'oidc' as const, created_at: 1, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x2', y: 'y2', kid: 'k2' }] }, max_assertion_lifetime: 600, single_use: false, updated_at: T0 + 5 };
      assert.equal(await store.updateTrustedIssuer(rotated), true);
      assert.deepEqual(await store.getTrustedIssuer('k8s'), { ...ti, jwks: rotated.jwks, max_assertion_lifetime: 600, single_use: false, updated_at: T0 + 5 });
      assert.equal(await store.updateTrustedIssuer({ ...ti, jwks: null, jwks_uri: 'https://k.example/jwks', updated_at: T0 + 6 }), true);
      assert.deepEqual(await store.getTrustedIssuer('k8s'), { ...ti, jwks: null, jwks_uri: 'https://k.example/jwks', updated_at: T0 + 6 });
      assert.deepEqual((await store.changesSince(seq2)).map((e) => [e.kind, e.ref]), [['trusted_issuer', 'k8s'], ['trusted_issuer', 'k8s']]);
      assert.equal(await store.updateTrustedIssuer({ ...ti, name: 'nobody' }), false);
      assert.equal(await store.countFederatedClients('k8s'), 1, 'its clients stay attached');
      assert.equal(await store.deleteTrustedIssuer('k8s'), true);
      assert.equal(await store.deleteTrustedIssuer('k8s'), false);
      assert.equal(await store.getTrustedIssuer('k8s'), undefined);
    });

    it('every adapter method has a contract test', { skip }, () => {
      const methods = Object.getOwnPropertyNames(KyselyStore.prototype).filter(
        (n) => n !== 'constructor' && n !== 'run' && n !== 'change' && n !== 'deleteInBatches' && typeof (KyselyStore.prototype as unknown as Record<string, unknown>)[n] === 'function',
      );
      const missing = methods.filter((m) => !COVERED.has(m));
      assert.deepEqual(missing, [], 'add these to test/store/store-contract.test.ts');
    });
  });
}

describe('Store contract — unreachable database', async () => {
  it('PostgreSQL down → StoreUnavailableError (mapped to 503), quickly', async () => {
    const s = new PostgresStore('postgres://127.0.0.1:1/nothing');
    const started = Date.now();
    try {
      await assert.rejects(s.ping(), StoreUnavailableError);
      await assert.rejects(s.getOpaqueToken('x'), StoreUnavailableError);
      await assert.rejects(s.revokeJti('j', 'c', 1), StoreUnavailableError);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      await s.close();
    }
  });
});
