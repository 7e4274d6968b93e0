#!/usr/bin/env node
// Runs every *.test.ts under packages/*/test (and bench/test) with node's test runner + tsx.
// Usage: node scripts/test.mjs [substring-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = ['packages/jose-core/test', 'packages/resource/test', 'packages/client/test', 'packages/server/test', 'bench/test'];
const files = [];
function walk(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries.sort()) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
}
for (const r of roots) walk(join(root, r));
const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const child = spawn(process.execPath, [
  '--import', 'tsx',
  '--test',
  '--test-reporter', 'spec',
  '--test-concurrency', process.env.LATCHKEY_TEST_CONCURRENCY ?? '2',
  '--test-timeout', process.env.LATCHKEY_TEST_TIMEOUT ?? '180000',
  ...selected,
], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
