/** docs/configuration.md is generated from the settings table; this fails when it is stale (fix: `npm run docs:config`). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigDoc } from '../../src/config-doc.js';
import { settings } from '../../src/config.js';

const DOC = new URL('../../../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('is up to date with the settings table (run `npm run docs:config`)', () => {
    assert.equal(readFileSync(DOC, 'utf8'), renderConfigDoc(), 'docs/configuration.md is stale: run `npm run docs:config` and commit it');
  });

  it('has one row per setting, naming its variable and flag', () => {
    const doc = renderConfigDoc();
    for (const [name, s] of Object.entries(settings)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      assert.ok(row, `row for ${name}`);
      assert.ok(row.includes(`\`${s.env}\``), `${name}: env`);
      if (s.flag) assert.ok(row.includes(`\`${s.flag}\``), `${name}: flag`);
    }
  });
});
