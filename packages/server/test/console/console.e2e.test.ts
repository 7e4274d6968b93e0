/**
 * Browser end-to-end test of the web console: Playwright (playwright-core) driving Debian's Chromium.
 * Every step is also checked through the admin API / token endpoint. Screenshots of each screen go to
 * test-artifacts/console/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from '../admin/helpers.js';
import { ARTIFACTS, CHROMIUM, assertFitsPhone, browserAvailable, ensureConsoleBuilt, phonePage } from './console-helpers.js';

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
  let secondSecret = '';
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  const bodyText = () => page.evaluate(() => document.body.innerText);

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
    // The signed-in home may already show this list from before the client existed ("1–1 of 1"), and going
    // from "/" to "#/clients" is the same screen (no new fetch): reload, then wait for the list that has it.
    await page.reload();
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
    await page.getByTestId('try-secret').fill(await clipboard());
    await page.getByTestId('try-run').click();
    await page.getByTestId('try-api-response').waitFor();
    const basicCredentials = Buffer.from(`${clientId}:${firstSecret}`).toString('base64');
    // Masked by default: neither the secret, nor the Basic credentials, nor the access token are on screen.
    const request = await page.getByTestId('try-request').innerText();
    assert.match(request, /^POST \/oauth2\/token HTTP\/1\.1\n/);
    assert.match(request, /Content-Type: application\/x-www-form-urlencoded/);
    assert.ok(request.includes('Authorization: Basic ••••••••'), request);
    assert.match(request, /\n\ngrant_type=client_credentials$/);
    const response = await page.getByTestId('try-response').innerText();
    assert.match(response, /^HTTP\/1\.1 200 OK\n/);
    assert.match(response, /cache-control: no-store/);
    assert.match(response, /"access_token": "••••••••"/);
    assert.match(await page.getByTestId('try-api-request').innerText(), /Authorization: Bearer ••••••••$/);
    const maskedPage = await bodyText();
    for (const secretish of [firstSecret, basicCredentials, encodeURIComponent(firstSecret)]) assert.ok(!maskedPage.includes(secretish), 'nothing secret on screen');
    assert.doesNotMatch(maskedPage, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, 'no access token on screen');
    assert.equal(await page.getByTestId('try-secret').getAttribute('type'), 'password');
    // The copyable curl command names $CLIENT_SECRET instead of the secret, and still works once it is set.
    const maskedCurl = await page.getByTestId('try-curl').innerText();
    assert.ok(maskedCurl.includes(`-u '${clientId}:'"$CLIENT_SECRET"`), maskedCurl);
    assert.ok(!maskedCurl.includes(firstSecret));
    await page.getByTestId('copy-curl').click();
    await page.getByTestId('copy-curl').filter({ hasText: 'Copied' }).waitFor();
    const copiedMasked = await clipboard();
    assert.equal(copiedMasked, maskedCurl);
    const run = promisify(execFile);
    const viaShell = await run('sh', ['-c', copiedMasked], { env: { ...process.env, CLIENT_SECRET: firstSecret } });
    assert.equal(JSON.parse(viaShell.stdout).token_type, 'Bearer', 'the copied (masked) curl command gets a token with $CLIENT_SECRET set');
    await shot('06-try-it');
    // Revealed on demand: the exact request and the literal curl command.
    await page.getByTestId('try-reveal').click();
    assert.ok((await page.getByTestId('try-request').innerText()).includes('Authorization: Basic ' + basicCredentials));
    assert.doesNotMatch(await page.getByTestId('try-response').innerText(), /••••/);
    const revealedCurl = await page.getByTestId('try-curl').innerText();
    assert.ok(revealedCurl.includes(`-u '${clientId}:${firstSecret}'`), revealedCurl);
    assert.equal(await page.getByTestId('copy-curl').innerText(), 'Copy');
    await page.getByTestId('copy-curl').click();
    await page.getByTestId('copy-curl').filter({ hasText: 'Copied' }).waitFor();
    assert.equal(await clipboard(), revealedCurl);
    const viaShell2 = await run('sh', ['-c', revealedCurl], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    assert.equal(JSON.parse(viaShell2.stdout).token_type, 'Bearer');
    await shot('06b-try-it-revealed');
    await page.getByTestId('try-reveal').click();
    assert.ok(!(await bodyText()).includes(firstSecret), 'hidden again');
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
  });

  it('rotate the secret (no grace): the new secret is shown once; the old one stops working', async () => {
    await page.goto(srv.url + `/#/clients/${encodeURIComponent(clientId)}`);
    await page.getByTestId('client-detail').waitFor();
    // One default everywhere: the API's and the CLI's grace default is 0; the console prefills 0 and says what it means.
    assert.equal(await page.getByTestId('grace').inputValue(), '0');
    assert.match(await page.getByTestId('grace-explained').innerText(), /stops working at once/);
    await page.getByTestId('grace').fill('5400');
    assert.match(await page.getByTestId('grace-explained').innerText(), /keeps working for 1 h 30 min after rotation/);
    await page.getByTestId('grace').fill('0');
    await page.getByTestId('rotate-secret').click();
    await page.getByTestId('secret-value').waitFor();
    const second = await page.getByTestId('secret-value').innerText();
    secondSecret = second;
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
    // Disable asks first; "Cancel" changes nothing.
    await page.getByTestId('disable-client').click();
    await page.getByTestId('disable-client-confirm').waitFor();
    assert.match(await page.getByTestId('disable-client-confirm').innerText(), /Disable orders-service\?/);
    await shot('08a-disable-confirm');
    await page.getByTestId('disable-client-no').click();
    await page.getByTestId('disable-client-confirm').waitFor({ state: 'detached' });
    assert.equal((await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken })).json.disabled, false, 'cancel did not disable');
    assert.equal(await page.getByTestId('status').innerText(), 'active');
    await page.getByTestId('disable-client').click();
    await page.getByTestId('disable-client-yes').click();
    await page.getByTestId('status').filter({ hasText: 'disabled' }).waitFor();
    assert.equal(await page.getByTestId('secrets-active').innerText(), '1', 'rotation with no grace left exactly one live secret');
    await shot('08-client-disabled');
    assert.equal((await api(srv, 'GET', `/clients/${clientId}`, { token: adminToken })).json.disabled, true);
    await srv.sync();
    const refused = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(clientId, secondSecret) });
    assert.equal(refused.status, 401, 'the disabled client’s valid secret is refused');
  });

  it('delete asks first; cancel keeps the client, confirm deletes it', async () => {
    const doomed = await srv.createClient({ client_name: 'doomed-service', scope: 'x' });
    await page.goto(srv.url + `/#/clients/${encodeURIComponent(doomed.client_id)}`);
    // A hash change re-renders the page in place: wait for *this* client, not the previous test's detail view.
    await page.getByTestId('client-detail').filter({ hasText: 'doomed-service' }).waitFor();
    await page.getByTestId('delete-client').click();
    await page.getByTestId('delete-client-confirm').waitFor();
    await page.getByTestId('delete-client-no').click();
    assert.equal((await api(srv, 'GET', `/clients/${doomed.client_id}`, { token: adminToken })).status, 200);
    await page.getByTestId('delete-client').click();
    await page.getByTestId('delete-client-yes').click();
    await page.getByTestId('clients-table').waitFor();
    assert.equal((await api(srv, 'GET', `/clients/${doomed.client_id}`, { token: adminToken })).status, 404);
  });

  it('keys, audit log and registration screens', async () => {
    await page.goto(srv.url + '/#/keys');
    await page.getByTestId('keys-table').waitFor();
    assert.match(await page.getByTestId('keys-table').innerText(), /current/);
    await page.getByTestId('rotate-key').click();
    await page.getByTestId('keys-table').filter({ hasText: 'next' }).waitFor();
    const keysNow = (await api(srv, 'GET', '/keys', { token: adminToken })).json.keys;
    assert.equal(keysNow[0].state, 'next');
    const nextKid: string = keysNow[0].kid;
    // A later rotation that signs at once supersedes that next key: the console must not call it "next".
    const rotated = await api(srv, 'POST', '/keys/rotate', { token: adminToken, body: { prepublish_seconds: 0 } });
    assert.equal(rotated.status, 201);
    await page.goto(srv.url + '/#/clients');
    await page.goto(srv.url + '/#/keys');
    const supersededRow = page.locator(`tr[data-kid="${nextKid}"]`);
    await supersededRow.waitFor();
    assert.equal(await supersededRow.getAttribute('data-state'), 'superseded');
    const cells = await supersededRow.locator('td').allInnerTexts();
    assert.equal(cells[2], 'superseded');
    assert.equal(cells[4], 'never', 'no "signs from" time for a key that never signs');
    assert.equal(await page.locator(`tr[data-kid="${rotated.json.kid}"]`).getAttribute('data-state'), 'current');
    assert.equal(await page.locator('tr[data-state="next"]').count(), 0);
    assert.equal(await page.locator('tr[data-state="current"]').count(), 1);
    await shot('09-keys');
    await page.goto(srv.url + '/#/audit');
    await page.getByTestId('audit-table').waitFor();
    const audit = await page.getByTestId('audit-table').innerText();
    for (const a of ['key.rotate', 'client.disable', 'client.update', 'client.rotate_secret', 'client.create', 'client.delete', 'console.signin_failed']) assert.ok(audit.includes(a), a);
    // Names next to ids: targets, actors, and a deleted client's name from its own record.
    const created = page.locator('tr[data-action="client.create"]').filter({ hasText: clientId });
    assert.match(await created.innerText(), /orders-service/);
    const adminName: string = (await api(srv, 'GET', `/clients/${srv.admin.client_id}`, { token: adminToken })).json.client_name;
    assert.ok((await created.locator('td').nth(1).innerText()).includes(adminName), 'actor shown by name');
    assert.match(await page.locator('tr[data-action="client.delete"]').first().innerText(), /doomed-service/);
    // The wrong-secret sign-in from the first step is there, with the name of the client it claimed to be.
    await page.getByTestId('audit-failed-only').check();
    const failed = page.locator('tr[data-action="console.signin_failed"]');
    assert.equal(await page.locator('tbody tr[data-action]').count(), await failed.count());
    assert.ok((await failed.count()) >= 1);
    const failedText = await failed.last().innerText();
    assert.ok(failedText.includes(srv.admin.client_id) && failedText.includes(adminName), failedText);
    assert.match(await failed.last().locator('td').nth(1).innerText(), /console \(claimed\)/, 'the actor of a failed sign-in is only a claim');
    await page.getByTestId('audit-failed-only').uncheck();
    await page.getByRole('button', { name: 'details' }).first().click();
    await shot('10-audit');
    await page.goto(srv.url + '/#/registration');
    // Initial access tokens carry mandatory scope and audience caps (SPEC §7).
    await page.getByPlaceholder('e.g. reports:read').fill('reports:read');
    await page.getByPlaceholder('e.g. https://reports.example.com').fill('https://reports.example.com');
    await page.getByRole('button', { name: 'Create initial access token' }).click();
    await page.getByTestId('secret-value').waitFor();
    assert.match(await page.getByTestId('secret-value').innerText(), /^lki_/);
    await shot('11-registration');
  });

  it('usable at 375 px: the header wraps inside the screen, tables scroll sideways, nothing overflows the page', async () => {
    const { phone, p } = await phonePage(browser, consoleErrors);
    try {
      const check = (name: string) => assertFitsPhone(p, name, `mobile-${name}`);
      await p.goto(srv.url + '/');
      await p.getByLabel('Client ID').waitFor();
      await check('01-sign-in');
      await p.getByLabel('Client ID').fill(srv.admin.client_id);
      await p.getByLabel('Client secret').fill(srv.admin.client_secret);
      await p.getByTestId('sign-in').click();
      await p.getByTestId('clients-table').waitFor();
      // Header: every link and the sign-out button fully on screen, nothing overlapping.
      const boxes = await p.locator('header a, header button, header .brand').evaluateAll((els) => els.map((e) => { const r = e.getBoundingClientRect(); return { t: (e as HTMLElement).innerText, l: r.left, r: r.right, top: r.top, b: r.bottom }; }));
      assert.equal(boxes.length, 8);
      for (const x of boxes) assert.ok(x.l >= 0 && x.r <= 375, `${x.t} is on screen (${x.l}–${x.r})`);
      for (const [i, x] of boxes.entries())
        for (const y of boxes.slice(i + 1)) assert.ok(x.r <= y.l || y.r <= x.l || x.b <= y.top || y.b <= x.top, `${x.t} and ${y.t} overlap`);
      // Tables keep their columns and scroll inside their box instead.
      const wrap = await p.locator('.table-wrap').first().evaluate((e) => ({ sw: e.scrollWidth, cw: e.clientWidth, ox: getComputedStyle(e).overflowX }));
      assert.equal(wrap.ox, 'auto');
      assert.ok(wrap.cw <= 375 && wrap.sw > wrap.cw, `the clients table scrolls sideways (${wrap.sw} in ${wrap.cw})`);
      await check('02-clients');
      await p.goto(srv.url + `/#/clients/${encodeURIComponent(clientId)}`);
      await p.getByTestId('client-detail').waitFor();
      await check('03-client');
      await p.getByTestId('delete-client').click();
      await p.getByTestId('delete-client-confirm').waitFor();
      await check('04-client-confirm');
      await p.getByTestId('delete-client-no').click();
      await p.goto(srv.url + '/#/clients/new');
      await p.getByTestId('create-client').waitFor();
      await check('05-new-client');
      await p.goto(srv.url + '/#/keys');
      await p.getByTestId('keys-table').waitFor();
      await check('06-keys');
      await p.goto(srv.url + '/#/audit');
      await p.getByTestId('audit-table').waitFor();
      // The audit log is one card per record on a phone: no sideways scrolling, every column on screen.
      const auditBox = await p.locator('.table-wrap:has([data-testid=audit-table])').evaluate((e) => ({ sw: e.scrollWidth, cw: e.clientWidth }));
      assert.ok(auditBox.sw <= auditBox.cw, `audit cards fit (${auditBox.sw} in ${auditBox.cw})`);
      assert.equal(await p.locator('[data-testid=audit-table] thead').isVisible(), false);
      assert.ok(await p.locator('tr[data-action="client.create"] td[data-label="Action"]').first().isVisible());
      await check('07-audit');
      await p.goto(srv.url + '/#/registration');
      await p.getByRole('button', { name: 'Create initial access token' }).waitFor();
      await check('08-registration');
      const usable = await srv.createClient({ client_name: 'phone-test', scope: 'a' });
      await p.goto(srv.url + `/#/try/${encodeURIComponent(usable.client_id)}`);
      await p.getByTestId('try-client').locator(`option[value="${usable.client_id}"]`).waitFor({ state: 'attached' });
      assert.ok(usable.client_secret);
      await p.getByTestId('try-secret').fill(usable.client_secret);
      await p.getByTestId('try-run').click();
      await p.getByTestId('try-api-response').waitFor();
      await check('09-try-it');
    } finally {
      await phone.close();
    }
  });

  it('sign out ends the session server-side; no console errors or CSP violations happened', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    const r = await page.evaluate(() => fetch('/console/api/session').then((x) => x.status));
    assert.equal(r, 401);
    assert.deepEqual(consoleErrors.filter((e) => !/401|403|400|Failed to load resource/.test(e)), []);
  });
});
