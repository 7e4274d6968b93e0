#!/usr/bin/env node
// Incremental build for `npm run build` / `npm start` and the packages' prepack.
// Usage: node scripts/build.mjs [--no-console] PROJECT...   (PROJECT: a tsconfig project dir, relative to the repo root)
// `tsc -b` is incremental by itself; this adds the web console (vite), which is rebuilt only when one of its
// inputs is newer than its output, and prints ONE line saying what was rebuilt (decided by which projects'
// .tsbuildinfo files tsc rewrote).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(new URL('..', import.meta.url).pathname);
const args = process.argv.slice(2);
const withConsole = !args.includes('--no-console');
const projects = args.filter((a) => !a.startsWith('--'));
if (projects.length === 0) {
  process.stderr.write('usage: node scripts/build.mjs [--no-console] PROJECT...\n');
  process.exit(2);
}

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
};
/** Newest modification time of a file or anything under a directory. */
const newest = (p) => {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of readdirSync(p)) m = Math.max(m, newest(join(p, e)));
  return m;
};
const run = (cmd, argv, cwd = root) => {
  const r = spawnSync(cmd, argv, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const t0 = Date.now();
const rebuilt = [];

// TypeScript projects (and their references).
const infos = projects.map((p) => join(root, p, 'tsconfig.tsbuildinfo'));
const before = infos.map(mtime);
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', ...projects.map((p) => join(root, p))]);
infos.forEach((f, i) => {
  if (mtime(f) !== before[i]) rebuilt.push(basename(join(root, projects[i])));
});

// Web console: vite always rebuilds everything, so skip it when dist/ is newer than every input.
const consoleDir = join(root, 'packages', 'console');
if (withConsole) {
  const inputs = ['src', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'].map((f) => join(consoleDir, f));
  const built = mtime(join(consoleDir, 'dist', 'index.html'));
  if (!existsSync(join(consoleDir, 'dist', 'index.html')) || Math.max(...inputs.map(newest)) > built) {
    run('npm', ['run', '-s', 'build', '-w', '@latchkey/console']);
    rebuilt.push('console');
  }
}

const secs = ((Date.now() - t0) / 1000).toFixed(1);
process.stdout.write(
  rebuilt.length
    ? `build: rebuilt ${rebuilt.join(', ')} (${secs} s); the rest was up to date\n`
    : `build: everything up to date, nothing rebuilt (${secs} s)\n`,
);
