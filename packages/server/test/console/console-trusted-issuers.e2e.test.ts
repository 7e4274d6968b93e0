/**
 * Browser end-to-end test of the console's trusted issuers and federated (secretless) clients (issue #18):
 * Playwright (playwright-core) driving Debian's Chromium. Every step is checked through the admin API, and
 * the federated client really exchanges a Kubernetes-shaped token at the token endpoint. Screenshots go to
 * test-artifacts/console/ (trust-*.png, mobile-trust-*.png).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from '../admin/helpers.js';
import { INVALID_CLIENT, JWT_BEARER, issuerKey, kubernetesClaims, platformToken, type IssuerKey } from '../federated/helpers.js';
import { ARTIFACTS, CHROMIUM, assertFitsPhone, browserAvailable, ensureConsoleBuilt, phonePage } from './console-helpers.js';

const available = browserAvailable();
const CLUSTER = 'https://kubernetes.default.svc.cluster.local';
const SUBJECT = 'system:serviceaccount:payments:api';

describe('console: trusted issuers and federated clients in a real browser', { skip: !available && 'Chromium not installed' }, () => {
  let srv: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let adminToken: string;
  let key: IssuerKey;
  let clientId = '';
  const consoleErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `trust-${name}.png`), fullPage: true });
  const exchange = async () =>
    postForm(`${srv.url}/oauth2/token`, {
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: await platformToken(key, kubernetesClaims(CLUSTER, srv.issuer, 'payments', 'api')),
    });

  before(async () => {
    ensureConsoleBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    srv = await startTestServer();
    adminToken = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    key = await issuerKey('RS256', 'cluster-key-1');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(srv.url + '/');
    await page.getByLabel('Client ID').fill(srv.admin.client_id);
    await page.getByLabel('Client secret').fill(srv.admin.client_secret);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('signed-in-as').waitFor();
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('add an issuer with a pasted JWKS: a bad JWKS shows the API error on its field; the good one is listed', async () => {
    await page.getByRole('link', { name: 'Trusted issuers' }).click();
    await page.getByTestId('issuers-empty').waitFor();
    await page.getByTestId('new-issuer').click();
    await page.getByLabel('Name', { exact: true }).fill('cluster');
    await page.getByLabel('Kind').selectOption('kubernetes');
    await page.getByLabel('Issuer URL').fill(CLUSTER);
    await page.getByLabel('Keys from').selectOption('jwks');
    // A private key in the JWKS: the API refuses it, and the console shows its error_description on the field.
    await page.locator('textarea[name=jwks]').fill(JSON.stringify({ keys: [{ ...key.publicJwk, d: 'c2VjcmV0' }] }));
    await page.getByTestId('add-issuer').click();
    await page.getByTestId('error').waitFor();
    const direct = await api(srv, 'POST', '/trusted-issuers', { token: adminToken, body: { name: 'x', issuer: CLUSTER, kind: 'kubernetes', jwks: { keys: [{ ...key.publicJwk, d: 'c2VjcmV0' }] } } });
    assert.equal(direct.status, 400);
    assert.equal(await page.getByTestId('error').innerText(), `${direct.json.error}: ${direct.json.error_description} (field: jwks)`);
    assert.equal(await page.locator('textarea[name=jwks].invalid').count(), 1);
    await shot('01-add-error');
    // Not JSON at all: refused before it is sent, naming the field.
    await page.locator('textarea[name=jwks]').fill('{"keys": [');
    await page.getByTestId('add-issuer').click();
    await page.getByTestId('error').filter({ hasText: 'jwks: not valid JSON' }).waitFor();
    await page.locator('textarea[name=jwks]').fill(JSON.stringify({ keys: [key.publicJwk] }, null, 2));
    await page.getByLabel('Max assertion lifetime (s)').fill('1800');
    await shot('02-add-form');
    await page.getByTestId('add-issuer').click();
    await page.getByTestId('issuers-table').waitFor();
    assert.match(await page.getByTestId('notice').innerText(), /Trusted issuer cluster added/);
    const row = page.locator('tr[data-name="cluster"]');
    assert.deepEqual(await row.locator('td').allInnerTexts(), ['cluster', CLUSTER, 'Kubernetes', 'pasted JWKS (1 key)', '30 min', 'no', '0']);
    const t = await api(srv, 'GET', '/trusted-issuers/cluster', { token: adminToken });
    assert.equal(t.status, 200);
    assert.deepEqual(
      { issuer: t.json.issuer, kind: t.json.kind, keys_from: t.json.keys_from, jwks: t.json.jwks, max: t.json.max_assertion_lifetime, single_use: t.json.single_use },
      { issuer: CLUSTER, kind: 'kubernetes', keys_from: 'file', jwks: { keys: [key.publicJwk] }, max: 1800, single_use: false },
    );
    const audit = await api(srv, 'GET', '/audit?client=trusted-issuer:cluster', { token: adminToken });
    assert.deepEqual(
      audit.json.records.map((r: { action: string; actor: string }) => [r.action, r.actor]),
      [['trusted_issuer.add', `console:${srv.admin.client_id}`]],
    );
    await shot('03-list');
  });

  it('create a federated (secretless) client against it: no secret; the platform token gets an access token', async () => {
    await page.goto(srv.url + '/#/clients/new');
    await page.getByLabel('Name', { exact: true }).fill('payments-api');
    await page.getByLabel('Allowed scopes').fill('orders:read');
    await page.getByLabel('Authentication method').selectOption('federated_jwt');
    await page.getByTestId('federated-fields').waitFor();
    // The only trusted issuer is chosen once the list has loaded.
    await page.waitForFunction(() => document.querySelector<HTMLSelectElement>('select[name=federated_issuer]')?.value === 'cluster');
    // Missing subject: the API's error, on the subject field.
    await page.getByTestId('create-client').click();
    await page.getByTestId('error').waitFor();
    assert.match(await page.getByTestId('error').innerText(), /federated_identity\.subject/);
    assert.equal(await page.locator('input[name=federated_subject].invalid').count(), 1);
    await page.getByLabel('Subject').fill(SUBJECT);
    await page.getByTestId('add-claim').click();
    await page.getByLabel('Claim 1 name').fill('kubernetes.io.namespace');
    await page.getByLabel('Claim 1 value').fill('payments');
    await page.getByTestId('add-claim').click(); // an empty row is ignored
    await shot('04-create-federated-client');
    await page.getByTestId('create-client').click();
    await page.getByTestId('client-created').waitFor();
    clientId = await page.getByTestId('created-client-id').innerText();
    assert.equal(await page.getByTestId('secret-once').count(), 0, 'no secret to show');
    assert.equal(await page.getByTestId('federated-subject').innerText(), SUBJECT);
    const usage = await page.getByTestId('federated-usage').innerText();
    assert.ok(usage.includes(srv.issuer) && usage.includes('client-assertion-type:jwt-bearer') && usage.includes(`${srv.url}/oauth2/token`), usage);
    await shot('05-federated-client-created');
    const c = await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken });
    assert.equal(c.json.token_endpoint_auth_method, 'federated_jwt');
    assert.deepEqual(c.json.federated_identity, { issuer: 'cluster', subject: SUBJECT, claims: { 'kubernetes.io.namespace': 'payments' } });
    assert.equal(c.json.client_secret, undefined);
    await srv.sync();
    const res = await exchange();
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(decodeJwt(res.json.access_token as string).client_id, clientId);
  });

  it('"Try it" with the platform token as the client assertion: 200 from the real token endpoint, the token masked until revealed', async () => {
    const platform = await platformToken(key, kubernetesClaims(CLUSTER, srv.issuer, 'payments', 'api'));
    await page.goto(srv.url + `/#/try/${encodeURIComponent(clientId)}`);
    await page.getByTestId('try-client').locator(`option[value="${clientId}"]`).waitFor({ state: 'attached' });
    await page.getByLabel('Client assertion').waitFor();
    assert.equal(await page.getByTestId('try-secret').getAttribute('type'), 'password');
    await page.getByTestId('try-secret').fill(platform);
    await page.getByTestId('try-run').click();
    await page.getByTestId('try-api-response').waitFor();
    const request = await page.getByTestId('try-request').innerText();
    assert.ok(request.includes('client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer'), request);
    assert.ok(request.includes('client_assertion=••••••••') && !request.includes(platform), 'the platform token is masked');
    assert.match(await page.getByTestId('try-response').innerText(), /^HTTP\/1\.1 200/);
    const claims = JSON.parse(await page.getByTestId('try-claims').innerText()) as { client_id: string; scope: string };
    assert.deepEqual([claims.client_id, claims.scope], [clientId, 'orders:read']);
    const curl = await page.getByTestId('try-curl').innerText();
    assert.ok(curl.includes(`--data-urlencode 'client_assertion='"$CLIENT_ASSERTION"`) && !curl.includes(platform), curl);
    await shot('05b-try-federated');
  });

  it('the client page shows the federated identity and edits its claim conditions', async () => {
    await page.goto(srv.url + `/#/clients/${encodeURIComponent(clientId)}`);
    await page.getByTestId('client-detail').waitFor();
    assert.equal(await page.getByTestId('federated-issuer').innerText(), 'cluster');
    assert.equal(await page.getByTestId('federated-claims').innerText(), 'kubernetes.io.namespace = payments');
    assert.equal(await page.getByLabel('Claim 1 value').inputValue(), 'payments');
    await page.getByTestId('add-claim').click();
    await page.getByLabel('Claim 2 name').fill('kubernetes.io.serviceaccount.name');
    await page.getByLabel('Claim 2 value').fill('api');
    await page.getByTestId('save-client').click();
    await page.getByTestId('notice').filter({ hasText: 'Saved.' }).waitFor();
    assert.match(await page.getByTestId('federated-claims').innerText(), /kubernetes\.io\.serviceaccount\.name = api/);
    const c = await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken });
    assert.deepEqual(c.json.federated_identity.claims, { 'kubernetes.io.namespace': 'payments', 'kubernetes.io.serviceaccount.name': 'api' });
    await shot('06-federated-client');
    await srv.sync();
    assert.equal((await exchange()).status, 200, 'the token still meets every condition');
  });

  it('the issuer is listed with its client; its page shows keys and clients; remove asks first, cancel keeps it', async () => {
    await page.goto(srv.url + '/#/trusted-issuers');
    await page.locator('tr[data-name="cluster"] [data-testid=issuer-clients]').filter({ hasText: /^1$/ }).waitFor();
    await page.getByRole('link', { name: 'cluster', exact: true }).click();
    await page.getByTestId('issuer-detail').waitFor();
    assert.equal(await page.getByTestId('issuer-client-count').innerText(), '1');
    assert.match(await page.getByTestId('issuer-keys').innerText(), /cluster-key-1\s+RSA\s+RS256\s+sig/);
    await page.getByTestId('issuer-clients-list').getByText('payments-api').waitFor();
    await page.getByTestId('remove-issuer').click();
    await page.getByTestId('remove-issuer-confirm').waitFor();
    assert.match(await page.getByTestId('remove-issuer-confirm').innerText(), /Stop trusting cluster\?.*1 client/s);
    await shot('07-remove-confirm');
    await page.getByTestId('remove-issuer-no').click();
    await page.getByTestId('remove-issuer-confirm').waitFor({ state: 'detached' });
    assert.equal((await api(srv, 'GET', '/trusted-issuers/cluster', { token: adminToken })).status, 200, 'cancel removed nothing');
  });

  it('replace keys in place (a cluster key rotation): a bad key set shows the API error; the new key works at once, the client stays', async () => {
    await page.getByTestId('issuer-detail').waitFor();
    const rotated = await issuerKey('RS256', 'cluster-key-2');
    const form = page.getByTestId('update-issuer-form');
    await form.locator('textarea[name=jwks]').fill(JSON.stringify({ keys: [{ ...rotated.publicJwk, d: 'c2VjcmV0' }] }));
    await page.getByTestId('update-issuer').click();
    await form.getByTestId('error').filter({ hasText: '(field: jwks)' }).waitFor();
    assert.equal(await form.locator('textarea[name=jwks].invalid').count(), 1);
    // The cluster publishes both keys during its rotation: paste both.
    await form.locator('textarea[name=jwks]').fill(JSON.stringify({ keys: [key.publicJwk, rotated.publicJwk] }, null, 2));
    await page.getByTestId('update-issuer').click();
    await page.getByTestId('update-issuer-saved').waitFor();
    assert.match(await page.getByTestId('issuer-keys').innerText(), /cluster-key-2\s+RSA\s+RS256\s+sig/);
    assert.equal(await page.getByTestId('issuer-client-count').innerText(), '1');
    await shot('07b-keys-replaced');
    const t = await api(srv, 'GET', '/trusted-issuers/cluster', { token: adminToken });
    assert.deepEqual([t.json.jwks, t.json.max_assertion_lifetime, t.json.federated_clients], [{ keys: [key.publicJwk, rotated.publicJwk] }, 1800, 1]);
    const audit = await api(srv, 'GET', '/audit?client=trusted-issuer:cluster', { token: adminToken });
    assert.ok(audit.json.records.some((r: { action: string; actor: string }) => r.action === 'trusted_issuer.update' && r.actor === `console:${srv.admin.client_id}`));
    await srv.sync();
    const r = await postForm(`${srv.url}/oauth2/token`, {
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: await platformToken(rotated, kubernetesClaims(CLUSTER, srv.issuer, 'payments', 'api')),
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(decodeJwt(r.json.access_token as string).client_id, clientId);
    assert.equal((await exchange()).status, 200, 'the old key still works while it is in the set');
  });

  it('usable at 375 px: issuer list, add form, issuer page and federated client form stay inside the screen', async () => {
    const { phone, p } = await phonePage(browser, consoleErrors);
    try {
      const check = (name: string) => assertFitsPhone(p, name, `mobile-trust-${name}`);
      await p.goto(srv.url + '/');
      await p.getByLabel('Client ID').fill(srv.admin.client_id);
      await p.getByLabel('Client secret').fill(srv.admin.client_secret);
      await p.getByTestId('sign-in').click();
      await p.getByTestId('clients-table').waitFor();
      // The header: every link and the sign-out button on screen, none overlapping another.
      const boxes = await p.locator('header a, header button, header .brand').evaluateAll((els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { t: (e as HTMLElement).innerText, l: r.left, r: r.right, top: r.top, b: r.bottom };
        }),
      );
      assert.ok(boxes.some((x) => x.t === 'Trusted issuers'));
      for (const x of boxes) assert.ok(x.l >= 0 && x.r <= 375, `${x.t} is on screen (${x.l}–${x.r})`);
      for (const [i, x] of boxes.entries()) for (const y of boxes.slice(i + 1)) assert.ok(x.r <= y.l || y.r <= x.l || x.b <= y.top || y.b <= x.top, `${x.t} and ${y.t} overlap`);
      await p.goto(srv.url + '/#/trusted-issuers');
      await p.getByTestId('issuers-table').waitFor();
      await check('01-list');
      await p.getByTestId('new-issuer').click();
      await p.getByLabel('Keys from').selectOption('jwks');
      await check('02-add');
      await p.goto(srv.url + '/#/trusted-issuers/cluster');
      await p.getByTestId('issuer-detail').waitFor();
      await p.getByTestId('remove-issuer').click();
      await check('03-issuer');
      await p.goto(srv.url + '/#/clients/new');
      await p.getByLabel('Authentication method').selectOption('federated_jwt');
      await p.getByTestId('add-claim').click();
      await p.getByLabel('Claim 1 name').fill('kubernetes.io.namespace');
      await check('04-federated-client-form');
      await p.goto(srv.url + `/#/clients/${encodeURIComponent(clientId)}`);
      await p.getByTestId('federated-claims').waitFor();
      await check('05-federated-client');
    } finally {
      await phone.close();
    }
  });

  it('remove with confirmation: gone from the list and the API; its client is refused at the token endpoint', async () => {
    await page.goto(srv.url + '/#/trusted-issuers/cluster');
    await page.getByTestId('issuer-detail').waitFor();
    await page.getByTestId('remove-issuer').click();
    await page.getByTestId('remove-issuer-yes').click();
    await page.getByTestId('issuers-empty').waitFor();
    assert.equal((await api(srv, 'GET', '/trusted-issuers/cluster', { token: adminToken })).status, 404);
    const audit = await api(srv, 'GET', '/audit?client=trusted-issuer:cluster', { token: adminToken });
    assert.equal(audit.json.records[0].action, 'trusted_issuer.remove');
    assert.equal(audit.json.records[0].actor, `console:${srv.admin.client_id}`);
    await shot('08-removed');
    await srv.sync();
    const res = await exchange();
    assert.deepEqual({ status: res.status, body: res.json }, { status: 401, body: INVALID_CLIENT });
    // The client stays, as the confirmation said, and its page still names the (now untrusted) issuer.
    assert.equal((await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken })).status, 200);
  });

  it('no console errors or CSP violations happened', () => {
    assert.deepEqual(
      consoleErrors.filter((e) => !/401|403|400|Failed to load resource/.test(e)),
      [],
    );
  });
});
