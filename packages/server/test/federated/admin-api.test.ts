/**
 * `/admin/v1/trusted-issuers` and federated clients through the admin API and RFC 7591 registration
 * (SPEC §9), on SQLite: status plus the full JSON body; audit records; the outbound policy applied to
 * the URLs an issuer is given.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from '../admin/helpers.js';
import { JWT_BEARER, issuerKey, kubernetesClaims, platformToken, type IssuerKey } from './helpers.js';

const K8S = 'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE';

describe('admin API: trusted issuers and federated clients', () => {
  let srv: TestServer;
  let admin: string;
  let key: IssuerKey;

  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret);
    key = await issuerKey('ES256');
  });
  after(() => srv.close());

  it('POST → 201 with Location; GET list and one (with its client count); audited; DELETE → 204, then 404', async () => {
    const created = await api(srv, 'POST', '/trusted-issuers', { token: admin, body: { name: 'eks', issuer: K8S, kind: 'kubernetes', jwks: { keys: [key.publicJwk] } } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.headers.get('location'), '/admin/v1/trusted-issuers/eks');
    const expected = { name: 'eks', issuer: K8S, kind: 'kubernetes', keys_from: 'file', jwks_uri: null, jwks: { keys: [key.publicJwk] }, max_assertion_lifetime: 3600, single_use: false, created_at: created.json.created_at };
    assert.deepEqual(created.json, expected);
    assert.deepEqual((await api(srv, 'GET', '/trusted-issuers', { token: admin })).json, { trusted_issuers: [expected] });
    assert.deepEqual((await api(srv, 'GET', '/trusted-issuers/eks', { token: admin })).json, { ...expected, federated_clients: 0 });

    const audit = await api(srv, 'GET', '/audit?client=trusted-issuer:eks', { token: admin });
    assert.deepEqual(
      audit.json.records.map((r: { action: string; actor: string }) => [r.action, r.actor]),
      [['trusted_issuer.add', `admin:${srv.admin.client_id}`]],
    );

    assert.equal((await api(srv, 'DELETE', '/trusted-issuers/eks', { token: admin })).status, 204);
    assert.deepEqual(await api(srv, 'GET', '/trusted-issuers/eks', { token: admin }).then((r) => [r.status, r.json]), [404, { error: 'not_found', error_description: 'no such trusted issuer' }]);
    assert.deepEqual(await api(srv, 'DELETE', '/trusted-issuers/eks', { token: admin }).then((r) => [r.status, r.json]), [404, { error: 'not_found', error_description: 'no such trusted issuer' }]);
  });

  it('PATCH replaces keys and rules in place (audited, created_at kept); issuer and kind cannot change; 404 for none', async () => {
    const created = await api(srv, 'POST', '/trusted-issuers', { token: admin, body: { name: 'patchme', issuer: `${K8S}/p`, kind: 'kubernetes', jwks: { keys: [key.publicJwk] } } });
    assert.equal(created.status, 201);
    const other = await issuerKey('ES256');
    const patched = await api(srv, 'PATCH', '/trusted-issuers/patchme', { token: admin, body: { jwks: { keys: [other.publicJwk] }, max_assertion_lifetime: 600 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    assert.deepEqual(patched.json, { ...created.json, jwks: { keys: [other.publicJwk] }, max_assertion_lifetime: 600 });
    // Repeating the same issuer and kind is fine; a rule alone keeps the keys.
    const rule = await api(srv, 'PATCH', '/trusted-issuers/patchme', { token: admin, body: { issuer: `${K8S}/p`, kind: 'kubernetes', single_use: true } });
    assert.deepEqual(rule.json, { ...patched.json, single_use: true });
    const bad = async (body: unknown) => (await api(srv, 'PATCH', '/trusted-issuers/patchme', { token: admin, body })).json as { error: string; field?: string };
    assert.deepEqual(await bad({ issuer: 'https://elsewhere.example' }), { error: 'invalid_request', error_description: 'issuer: cannot change: a different issuer is a new trust (add it under another name)', field: 'issuer' });
    assert.equal((await bad({ kind: 'oidc' })).field, 'kind');
    assert.equal((await bad({ name: 'renamed' })).field, '(body)');
    assert.equal((await bad({ jwks: { keys: [{ ...key.publicJwk, d: 'secret' }] } })).field, 'jwks');
    assert.equal((await bad({ jwks_uri: 'https://10.1.2.3/keys' })).field, 'jwks_uri');
    assert.deepEqual((await api(srv, 'GET', '/trusted-issuers/patchme', { token: admin })).json, { ...rule.json, federated_clients: 0 }, 'refused updates changed nothing');
    assert.deepEqual(await api(srv, 'PATCH', '/trusted-issuers/none', { token: admin, body: { single_use: true } }).then((r) => [r.status, r.json]), [404, { error: 'not_found', error_description: 'no such trusted issuer' }]);
    const audit = await api(srv, 'GET', '/audit?client=trusted-issuer:patchme', { token: admin });
    assert.deepEqual(audit.json.records.map((r: { action: string }) => r.action).sort(), ['trusted_issuer.add', 'trusted_issuer.update', 'trusted_issuer.update']);
  });

  it('bad input → 400 naming the field; the outbound policy applies to URLs that are fetched', async () => {
    const bad = async (body: unknown) => (await api(srv, 'POST', '/trusted-issuers', { token: admin, body })).json as { error: string; field: string; error_description: string };
    assert.deepEqual(await bad({ name: 'x y', issuer: K8S }), { error: 'invalid_request', error_description: 'name: must match [A-Za-z0-9._-]{1,64}', field: 'name' });
    assert.equal((await bad({ name: 'a', issuer: K8S, jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] } })).field, 'jwks');
    assert.equal((await bad({ name: 'a', issuer: K8S, jwks: { keys: [{ ...key.publicJwk, d: 'secret' }] } })).field, 'jwks');
    assert.equal((await bad({ name: 'a', issuer: K8S, jwks_uri: 'https://127.0.0.1/keys' })).field, 'jwks_uri');
    assert.equal((await bad({ name: 'a', issuer: K8S, jwks_uri: 'https://user:pw@keys.example.com/jwks' })).field, 'jwks_uri');
    assert.equal((await bad({ name: 'a', issuer: 'https://169.254.169.254/latest' })).field, 'issuer', 'discovery at a link-local (cloud metadata) address');
    assert.equal((await bad({ name: 'a', issuer: 'spiffe://example.org', kind: 'spiffe' })).field, 'jwks', 'a SPIFFE trust domain needs a bundle');
    assert.equal((await bad({ name: 'a', issuer: 'spiffe://Example.org/x', kind: 'spiffe', jwks: { keys: [key.publicJwk] } })).field, 'issuer');
    assert.equal((await bad({ name: 'a', issuer: K8S, max_assertion_lifetime: 0 })).field, 'max_assertion_lifetime');
    assert.equal((await bad({ name: 'a', issuer: K8S, surprise: true })).field, '(body)');
    // GitHub's issuer is the default for kind github.
    const gh = await api(srv, 'POST', '/trusted-issuers', { token: admin, body: { name: 'gh', kind: 'github' } });
    assert.equal(gh.status, 201);
    assert.equal(gh.json.issuer, 'https://token.actions.githubusercontent.com');
    assert.equal(gh.json.keys_from, 'discovery');
    const dup = await api(srv, 'POST', '/trusted-issuers', { token: admin, body: { name: 'gh2', kind: 'github' } });
    assert.deepEqual(dup.json, { error: 'invalid_request', error_description: 'issuer: this issuer is already trusted under another name', field: 'issuer' });
    await api(srv, 'DELETE', '/trusted-issuers/gh', { token: admin });
  });

  it('without latchkey:admin → 401/403 (RFC 6750)', async () => {
    assert.equal((await api(srv, 'GET', '/trusted-issuers')).status, 401);
    const c = await srv.createClient({ scope: 'a' });
    const t = await tokenFor(srv, c.client_id, c.client_secret!);
    assert.equal((await api(srv, 'POST', '/trusted-issuers', { token: t, body: { name: 'x', issuer: K8S, jwks: { keys: [key.publicJwk] } } })).status, 403);
  });

  it('a federated client created through the admin API gets tokens; a second client for the same subject is refused', async () => {
    await api(srv, 'POST', '/trusted-issuers', { token: admin, body: { name: 'eks2', issuer: K8S, kind: 'kubernetes', jwks: { keys: [key.publicJwk] } } });
    const fi = { issuer: 'eks2', subject: 'system:serviceaccount:jobs:report', claims: { 'kubernetes.io.namespace': 'jobs' } };
    const c = await api(srv, 'POST', '/clients', { token: admin, body: { client_name: 'report job', scope: 'reports:read', token_endpoint_auth_method: 'federated_jwt', federated_identity: fi } });
    assert.equal(c.status, 201, JSON.stringify(c.json));
    assert.deepEqual(c.json.federated_identity, fi);
    assert.equal(c.json.client_secret, undefined, 'a federated client has no secret');
    const dup = await api(srv, 'POST', '/clients', { token: admin, body: { scope: 'a', token_endpoint_auth_method: 'federated_jwt', federated_identity: { issuer: 'eks2', subject: fi.subject } } });
    assert.deepEqual([dup.status, dup.json], [400, { error: 'invalid_client_metadata', error_description: 'federated_identity: another client is already mapped to this issuer and subject', field: 'federated_identity' }]);
    await srv.sync();
    const t = await platformToken(key, kubernetesClaims(K8S, srv.issuer, 'jobs', 'report'));
    const r = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: t });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(decodeJwt(r.json.access_token as string).client_id, c.json.client_id);
    assert.equal(r.json.scope, 'reports:read');
    assert.equal((await api(srv, 'GET', '/trusted-issuers/eks2', { token: admin })).json.federated_clients, 1);
  });

  it('RFC 7591 registration cannot create a federated client (a registrant must not claim a workload identity)', async () => {
    const iat = await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'a', audience: ['https://api.example.com'] } });
    const res = await fetch(`${srv.url}/oauth2/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${iat.json.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'a', token_endpoint_auth_method: 'federated_jwt', federated_identity: { issuer: 'eks2', subject: 'system:serviceaccount:x:y' } }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client_metadata');
  });

  it('metadata lists federated_jwt and both assertion types', async () => {
    const m = (await (await fetch(`${srv.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    assert.ok(m.token_endpoint_auth_methods_supported!.includes('federated_jwt'));
    assert.deepEqual(m.client_assertion_types_supported, ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer', 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe']);
  });
});
