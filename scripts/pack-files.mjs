#!/usr/bin/env node
// npm pack helper for the published packages (latchkey, @latchkey/client, @latchkey/resource).
// Usage (from a package's prepack/postpack, cwd = the package directory):
//   node ../../scripts/pack-files.mjs prepare   copy in what the tarball needs but git does not hold
//   node ../../scripts/pack-files.mjs clean     remove those copies again
// What "prepare" copies:
//   - LICENSE from the repository root (npm packs a LICENSE only from the package directory);
//   - the private workspace package @latchkey/jose-core (package.json + dist/) into
//     node_modules/@latchkey/jose-core of every package that depends on it: npm never bundles a hoisted
//     workspace link, but it does bundle a real directory listed in bundleDependencies;
//   - for the server (package "latchkey"): the built console (packages/console/dist) into ./console, where
//     the installed server looks for it first (src/console/console-routes.ts consoleDir()).
// Every copy is removed by "clean" so the working tree serves the live console build again.
import { cpSync, existsSync, readFileSync, rmSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const mode = process.argv[2];
const pkgDir = process.cwd();
const root = resolve(pkgDir, '../..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const JOSE_CORE = '@latchkey/jose-core';
const bundlesCore = Boolean(pkg.dependencies?.[JOSE_CORE]);
const isServer = pkg.name === 'latchkey';

function die(msg) {
  process.stderr.write(`pack-files (${pkg.name}): ${msg}\n`);
  process.exit(1);
}

function clean() {
  rmSync(join(pkgDir, 'LICENSE'), { force: true });
  if (bundlesCore) {
    rmSync(join(pkgDir, 'node_modules', '@latchkey', 'jose-core'), { recursive: true, force: true });
    // Remove the directories this script created, only if nothing else lives there.
    for (const d of [join(pkgDir, 'node_modules', '@latchkey'), join(pkgDir, 'node_modules')]) {
      if (existsSync(d) && readdirSync(d).length === 0) rmSync(d, { recursive: true });
    }
  }
  if (isServer) rmSync(join(pkgDir, 'console'), { recursive: true, force: true });
}

function prepare() {
  clean();
  cpSync(join(root, 'LICENSE'), join(pkgDir, 'LICENSE'));
  if (bundlesCore) {
    const src = join(root, 'packages', 'jose-core');
    if (!existsSync(join(src, 'dist', 'index.js'))) die('packages/jose-core/dist is missing: build it first (npm run build)');
    const dest = join(pkgDir, 'node_modules', '@latchkey', 'jose-core');
    mkdirSync(dest, { recursive: true });
    cpSync(join(src, 'package.json'), join(dest, 'package.json'));
    cpSync(join(src, 'dist'), join(dest, 'dist'), { recursive: true, filter: (p) => !p.endsWith('.map') });
    if (!pkg.bundleDependencies?.includes(JOSE_CORE)) die(`${JOSE_CORE} is a dependency but not in bundleDependencies`);
  }
  if (isServer) {
    const consoleDist = join(root, 'packages', 'console', 'dist');
    if (!existsSync(join(consoleDist, 'index.html'))) die('packages/console/dist is missing: build it first (npm run build)');
    cpSync(consoleDist, join(pkgDir, 'console'), { recursive: true });
  }
}

if (mode === 'prepare') prepare();
else if (mode === 'clean') clean();
else die('usage: pack-files.mjs prepare|clean');
