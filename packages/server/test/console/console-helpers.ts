import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
