/**
 * What `npm pack` puts in each published package (file selection only: `--dry-run --ignore-scripts`, so
 * nothing is built or copied; the full pack → install → start path is scripts/pack-smoke.sh in CI), and the
 * committed `bin/latchkey.js` that lets `npm ci` link `npx latchkey` before anything is built.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const NOT_RUNTIME = /^(src|test)\/|\.map$|tsbuildinfo|\.test\.|^tsconfig/;

interface Manifest {
  name: string;
  bin?: Record<string, string>;
  files?: string[];
  engines?: { node?: string };
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  bundleDependencies?: string[];
}

function packList(pkg: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(ROOT, 'packages', pkg), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

describe('published packages', () => {
  for (const pkg of ['server', 'client', 'resource']) {
    it(`packages/${pkg}: only built JS, types and docs; builds itself on prepack; supported Node lines`, () => {
      const m = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as Manifest;
      const files = packList(pkg);
      const extra = files.filter((f) => NOT_RUNTIME.test(f));
      assert.deepEqual(extra, [], 'no sources, tests, source maps or build info');
      assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'built entry point and types');
      assert.ok(files.includes('README.md'), 'README');
      assert.match(m.scripts?.prepack ?? '', /scripts\/build\.mjs .*&& node \.\.\/\.\.\/scripts\/pack-files\.mjs prepare$/);
      assert.equal(m.scripts?.postpack, 'node ../../scripts/pack-files.mjs clean');
      assert.equal(m.engines?.node, '^20.2.0 || ^22.0.0 || ^24.0.0');
      if (m.dependencies?.['@latchkey/jose-core']) assert.ok(m.bundleDependencies?.includes('@latchkey/jose-core'), 'the private JOSE core is bundled');
    });
  }

  it('the server ships its bin and the console directory the prepack copies in', () => {
    const m = JSON.parse(readFileSync(join(ROOT, 'packages', 'server', 'package.json'), 'utf8')) as Manifest;
    assert.deepEqual(m.bin, { latchkey: './bin/latchkey.js' });
    assert.ok(m.files?.includes('console'), 'console/ is packed');
    assert.ok(packList('server').includes('bin/latchkey.js'));
  });
});

describe('bin/latchkey.js', () => {
  const BIN = join(ROOT, 'packages', 'server', 'bin', 'latchkey.js');

  it('runs the built CLI', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('without dist/ (right after npm ci): one line saying to build, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      cpSync(BIN, join(dir, 'bin', 'latchkey.js'));
      cpSync(join(ROOT, 'packages', 'server', 'package.json'), join(dir, 'package.json'));
      const r = spawnSync(process.execPath, [join(dir, 'bin', 'latchkey.js'), 'start'], { encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.equal(r.stderr, 'latchkey: the server is not built (dist/cli/main.js is missing): run npm run build\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
