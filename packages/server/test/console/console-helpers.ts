import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/** `npm test` builds the console; a test run on its own builds it once if it is missing. */
export function ensureConsoleBuilt(): void {
  if (existsSync(join(CONSOLE_DIST, 'index.html'))) return;
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  execFileSync('npm', ['run', '-s', 'build', '-w', '@latchkey/console'], { cwd: root, stdio: 'inherit' });
}

export const CHROMIUM = process.env.LATCHKEY_CHROMIUM ?? '/usr/bin/chromium';
/** Set by .ci/run: the browser test must run, not skip. */
export const BROWSER_REQUIRED = process.env.LATCHKEY_TEST_REQUIRE_BROWSER === '1';

export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (BROWSER_REQUIRED) throw new Error(`Chromium is required (LATCHKEY_TEST_REQUIRE_BROWSER=1) but ${CHROMIUM} does not exist (apt-get install -y chromium)`);
  process.stderr.write(`\n*** Chromium not found at ${CHROMIUM}: the console browser tests are SKIPPED (apt-get install -y chromium) ***\n\n`);
  return false;
}

export const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/console/', import.meta.url));

/** A 375 px phone (touch, 2× pixels) in its own context; console errors and page errors go to `errors`. */
export async function phonePage(browser: Browser, errors: string[]): Promise<{ phone: BrowserContext; p: Page }> {
  const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p = await phone.newPage();
  p.setDefaultTimeout(15_000);
  p.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  p.on('pageerror', (e) => errors.push(e.message));
  return { phone, p };
}

/**
 * The page fits a 375 px screen: nothing makes it wider, and no element sticks out of the viewport except inside a
 * scrolling table box or a <pre>/<select>. Saves a screenshot as test-artifacts/console/<file>.png.
 */
export async function assertFitsPhone(p: Page, name: string, file: string): Promise<void> {
  const o = await p.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const bad: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.table-wrap, pre, select, option')) continue;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && (r.right > w + 1 || r.left < -1)) bad.push(`${el.tagName.toLowerCase()}.${el.className || ''} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    }
    return { scrollWidth: document.documentElement.scrollWidth, width: w, bad };
  });
  assert.equal(o.width, 375, name);
  assert.ok(o.scrollWidth <= o.width, `${name}: the page is ${o.scrollWidth} px wide`);
  assert.deepEqual(o.bad, [], `${name}: elements outside the screen`);
  await p.screenshot({ path: join(ARTIFACTS, `${file}.png`), fullPage: true });
}
