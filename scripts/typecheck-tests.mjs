#!/usr/bin/env node
// Type-checks the tests (and the sources they import) of every package: one tsc run per tsconfig below.
// Prints the error count per config and exits non-zero if any has errors. `npm run typecheck:tests`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const configs = [
  'packages/jose-core/tsconfig.test.json',
  'packages/client/tsconfig.test.json',
  'packages/resource/tsconfig.test.json',
  'packages/server/tsconfig.test.json',
  'packages/server/tsconfig.test-dom.json', // browser (Playwright) tests
  'bench/tsconfig.test.json',
];
let failed = 0;
for (const c of configs) {
  const r = spawnSync(process.execPath, [tsc, '-p', c, '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const errors = out.split('\n').filter((l) => / error TS\d+:/.test(l));
  if (r.status === 0) {
    console.log(`ok   ${c}`);
  } else {
    failed++;
    console.log(`FAIL ${c}: ${errors.length} error(s)`);
    process.stdout.write(out.endsWith('\n') ? out : out + '\n');
  }
}
process.exit(failed ? 1 : 0);
