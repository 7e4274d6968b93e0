/**
 * Browser end-to-end test of the web console: Playwright (playwright-core) driving Debian's Chromium.
 * Every step is also checked through the admin API / token endpoint. Screenshots of each screen go to
 * test-artifacts/console/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from '../admin/helpers.js';
import { ARTIFACTS, CHROMIUM, browserAvailable, ensureConsoleBuilt } from './console-helpers.js';

const available = browserAvailable();

describe('web console in a real browser', { skip: !available && 'Chromium not installed' }, () => {
  let srv: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let adminToken: string;
  const consoleErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  before(async () => {
    ensureConsoleBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    srv = await startTestServer();
    adminToken = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    // A CSP violation or script error shows up here; the test fails on any.
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  let clientId = '';
  let firstSecret = '';

  it('sign-in: wrong secret is refused; the admin client signs in; the session cookie is HttpOnly + SameSite=Strict', async () => {
    await page.goto(srv.url + '/');
    await page.getByLabel('Client ID').fill(srv.admin.client_id);
    await page.getByLabel('Client secret').fill('lk_wrong');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('error').waitFor();
    assert.match(await page.getByTestId('error').innerText(), /invalid_client/);
    await shot('01-sign-in');
    await page.getByLabel('Client secret').fill(srv.admin.client_secret);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('signed-in-as').waitFor();
    assert.equal(await page.getByTestId('signed-in-as').innerText(), srv.admin.client_id);
    const cookies = await context.cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.name, 'lk_console');
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, 'Strict');
    // Nothing token-like in web storage.
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.equal(storage, '{}{}');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is invisible to scripts');
  });

  it('clients list and search', async () => {
    await srv.createClient({ client_name: 'inventory-sync', scope: 'inventory:read' });
    await page.goto(srv.url + '/#/clients');
    // The signed-in home may already show this list from before the client existed ("1–1 of 1"): wait for
    // the list that has it, so the search below is not judged on that stale page.
    await page.getByTestId('clients-total').filter({ hasText: 'of 2' }).waitFor();
    await page.getByTestId('client-search').fill('inventory');
    await page.getByTestId('clients-total').filter({ hasText: '1–1 of 1' }).waitFor();
    assert.match(await page.getByTestId('clients-table').innerText(), /inventory-sync/);
    await page.getByTestId('client-search').fill('');
    await page.getByTestId('clients-total').filter({ hasText: 'of 2' }).waitFor();
    await shot('02-clients');
  });

  it('create a client: the secret is shown once and the copy button puts it on the clipboard', async () => {
    await page.getByTestId('new-client').click();
    await page.getByLabel('Name', { exact: true }).fill('orders-service');
    await page.getByLabel('Allowed scopes').fill('orders:read orders:write');
    await page.getByLabel('Audiences').fill('https://orders.example.com');
    await page.getByLabel('Token lifetime (s)').fill('600');
    await shot('03-create-client');
    await page.getByTestId('create-client').click();
    await page.getByTestId('client-created').waitFor();
    clientId = await page.getByTestId('created-client-id').innerText();
    firstSecret = await page.getByTestId('secret-value').innerText();
    assert.match(firstSecret, /^lk_[A-Za-z0-9_-]{43}$/);
    await page.getByTestId('copy-secret').click();
    await page.getByTestId('copy-secret').filter({ hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), firstSecret);
    await shot('04-client-created-secret-once');
    // Through the API: the client exists, as the console described it; the secret is never readable again.
    const c = await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken });
    assert.equal(c.status, 200);
    assert.equal(c.json.client_name, 'orders-service');
    assert.equal(c.json.scope, 'orders:read orders:write');
    assert.deepEqual(c.json.audience, ['https://orders.example.com']);
    assert.equal(c.json.access_token_ttl, 600);
    assert.equal(c.json.client_secret, undefined);
    const audit = await api(srv, 'GET', `/audit?client=${clientId}`, { token: adminToken });
    assert.equal(audit.json.records[0].actor, `console:${srv.admin.client_id}`);
  });

  it('validation errors name the field in the form', async () => {
    await page.goto(srv.url + '/#/clients');
    await page.getByTestId('new-client').click();
    await page.getByLabel('Name', { exact: true }).fill('bad');
    await page.getByLabel('Audiences').fill('not-a-uri');
    await page.getByTestId('create-client').click();
    await page.getByTestId('error').waitFor();
    assert.match(await page.getByTestId('error').innerText(), /audience\.0: must be an absolute URI/);
    assert.equal(await page.locator('textarea[name=audience].invalid').count(), 1);
    await shot('05-create-validation-error');
  });

  it('"try it": pastes the copied secret, gets a token, shows request, response, decoded token and a protected API call', async () => {
    await page.goto(srv.url + `/#/try/${encodeURIComponent(clientId)}`);
    await page.getByTestId('try-client').locator(`option[value="${clientId}"]`).waitFor({ state: 'attached' });
    await page.getByTestId('try-secret').fill(await page.evaluate(() => navigator.clipboard.readText()));
    await page.getByTestId('try-run').click();
    await page.getByTestId('try-api-response').waitFor();
    const request = await page.getByTestId('try-request').innerText();
    assert.match(request, /^POST \/oauth2\/token HTTP\/1\.1\n/);
    assert.match(request, /Content-Type: application\/x-www-form-urlencoded/);
    assert.ok(request.includes('Authorization: Basic ' + Buffer.from(`${clientId}:${firstSecret}`).toString('base64')));
    assert.match(request, /\n\ngrant_type=client_credentials$/);
    const response = await page.getByTestId('try-response').innerText();
    assert.match(response, /^HTTP\/1\.1 200 OK\n/);
    assert.match(response, /cache-control: no-store/);
    const header = JSON.parse(await page.getByTestId('try-header').innerText());
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    const claims = JSON.parse(await page.getByTestId('try-claims').innerText());
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.iss, srv.issuer);
    assert.equal(claims.aud, 'https://orders.example.com');
    assert.equal(claims.scope, 'orders:read orders:write');
    assert.equal(claims.exp - claims.iat, 600);
    const apiResponse = await page.getByTestId('try-api-response').innerText();
    assert.match(apiResponse, /^HTTP\/1\.1 200 OK\n/);
    assert.ok(apiResponse.includes(`"message": "hello, ${clientId}"`));
    await shot('06-try-it');
  });

  it('rotate the secret (no grace): the new secret is shown once; the old one stops working', async () => {
    await page.goto(srv.url + `/#/clients/${encodeURIComponent(clientId)}`);
    await page.getByTestId('client-detail').waitFor();
    await page.getByTestId('grace').fill('0');
    await page.getByTestId('rotate-secret').click();
    await page.getByTestId('secret-value').waitFor();
    const second = await page.getByTestId('secret-value').innerText();
    assert.notEqual(second, firstSecret);
    assert.match(second, /^lk_/);
    await shot('07-rotate-secret');
    await srv.sync();
    const old = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(clientId, firstSecret) });
    assert.equal(old.status, 401);
    const fresh = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(clientId, second) });
    assert.equal(fresh.status, 200);
  });

  it('edit scopes, audience, lifetime and format; then disable the client', async () => {
    await page.getByLabel('Allowed scopes').fill('orders:read');
    await page.getByLabel('Token format').selectOption('opaque');
    await page.getByTestId('save-client').click();
    await page.getByTestId('notice').filter({ hasText: 'Saved.' }).waitFor();
    const c = await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken });
    assert.equal(c.json.scope, 'orders:read');
    assert.equal(c.json.access_token_format, 'opaque');
    assert.equal(c.json.access_token_ttl, 600);
    await page.getByTestId('disable-client').click();
    await page.getByTestId('status').filter({ hasText: 'disabled' }).waitFor();
    assert.equal(await page.getByTestId('secrets-active').innerText(), '1', 'rotation with no grace left exactly one live secret');
    await shot('08-client-disabled');
    assert.equal((await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken })).json.disabled, true);
    await srv.sync();
    const refused = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(clientId, await page.evaluate(() => navigator.clipboard.readText()).catch(() => 'x')) });
    assert.equal(refused.status, 401);
  });

  it('keys, audit log and registration screens', async () => {
    await page.goto(srv.url + '/#/keys');
    await page.getByTestId('keys-table').waitFor();
    assert.match(await page.getByTestId('keys-table').innerText(), /current/);
    await page.getByTestId('rotate-key').click();
    await page.getByTestId('keys-table').filter({ hasText: 'next' }).waitFor();
    await shot('09-keys');
    assert.equal((await api(srv, 'GET', '/keys', { token: adminToken })).json.keys[0].state, 'next');
    await page.goto(srv.url + '/#/audit');
    await page.getByTestId('audit-table').waitFor();
    const audit = await page.getByTestId('audit-table').innerText();
    for (const a of ['key.rotate', 'client.disable', 'client.update', 'client.rotate_secret', 'client.create']) assert.ok(audit.includes(a), a);
    await page.getByRole('button', { name: 'details' }).first().click();
    await shot('10-audit');
    await page.goto(srv.url + '/#/registration');
    await page.getByRole('button', { name: 'Create initial access token' }).click();
    await page.getByTestId('secret-value').waitFor();
    assert.match(await page.getByTestId('secret-value').innerText(), /^lki_/);
    await shot('11-registration');
  });

  it('sign out ends the session server-side; no console errors or CSP violations happened', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    const r = await page.evaluate(() => fetch('/console/api/session').then((x) => x.status));
    assert.equal(r, 401);
    assert.deepEqual(consoleErrors.filter((e) => !/401|403|400|Failed to load resource/.test(e)), []);
  });
});
