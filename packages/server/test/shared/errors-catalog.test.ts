/**
 * The one error catalog (src/shared/errors.ts): every code in it is used by the server and documented
 * in docs/architecture.md ("Errors"), and toResponse() is the one rendering of any thrown value.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOG, OAuthError, StoreUnavailableError, methodNotAllowed, noSuchEndpoint, payloadTooLarge, toResponse, type OAuthErrorCode } from '../../src/shared/errors.js';

const src = new URL('../../src/', import.meta.url).pathname;
const docs = new URL('../../../../docs/architecture.md', import.meta.url).pathname;
const codes = Object.keys(ERROR_CATALOG) as OAuthErrorCode[];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('error catalog', () => {
  it('every code is used somewhere in src (outside the catalog itself)', () => {
    const text = sources(src)
      .map((p) => {
        const t = readFileSync(p, 'utf8');
        if (!p.endsWith('shared/errors.ts')) return t;
        // The catalog's own keys do not count as uses.
        const start = t.indexOf('export const ERROR_CATALOG = {');
        const end = t.indexOf('} as const', start);
        assert.ok(start > 0 && end > start, 'catalog found');
        return t.slice(0, start) + t.slice(end);
      })
      .join('\n');
    const unused = codes.filter((c) => !text.includes(`'${c}'`));
    assert.deepEqual(unused, [], `catalog codes nothing uses: ${unused.join(', ')}`);
  });

  it('every code is documented in docs/architecture.md with its status', () => {
    const doc = readFileSync(docs, 'utf8');
    const section = doc.slice(doc.indexOf('## Errors'));
    assert.ok(section.length > 10, 'docs/architecture.md has an "## Errors" section');
    for (const c of codes) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${c}\``));
      assert.ok(row, `${c} is documented`);
      assert.ok(row.includes(String(ERROR_CATALOG[c].status)), `${c}: documented status ${ERROR_CATALOG[c].status}`);
    }
    const documented = [...section.matchAll(/^\| `([a-z_]+)`/gm)].map((m) => m[1]);
    assert.deepEqual(documented.filter((c) => !codes.includes(c as OAuthErrorCode)), [], 'no documented code outside the catalog');
  });

  it('toResponse: OAuth errors as JSON with their status and headers, never cached', () => {
    const r = toResponse(new OAuthError('invalid_scope', undefined, { detail: 'private reason' }));
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { error: 'invalid_scope', error_description: ERROR_CATALOG.invalid_scope.description });
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.ok(!r.body.includes('private reason'), 'the detail is never sent');
    const f = toResponse(new OAuthError('invalid_client_metadata', 'scope: bad', { field: 'scope' }));
    assert.deepEqual(JSON.parse(f.body), { error: 'invalid_client_metadata', error_description: 'scope: bad', field: 'scope' });
    const m = toResponse(methodNotAllowed('POST'));
    assert.equal(m.status, 405);
    assert.equal(m.headers.allow, 'POST');
    assert.equal(JSON.parse(m.body).error, 'invalid_request');
    assert.equal(toResponse(payloadTooLarge(65536)).status, 413);
    assert.equal(toResponse(noSuchEndpoint()).status, 404);
  });

  it('toResponse: store outages are 503 with Retry-After; anything else is a fixed 500 without the cause', () => {
    const s = toResponse(new StoreUnavailableError(new Error('ECONNREFUSED 10.0.0.5:5432')));
    assert.equal(s.status, 503);
    assert.equal(s.headers['retry-after'], '1');
    assert.equal(JSON.parse(s.body).error, 'temporarily_unavailable');
    assert.ok(!s.body.includes('ECONNREFUSED'));
    for (const e of [new Error('secret lk_abc in a message'), 'a string', undefined, { error: 'invalid_client' }, new OAuthError('server_error', 'leak')]) {
      const r = toResponse(e);
      assert.equal(r.status, 500);
      assert.deepEqual(JSON.parse(r.body), { error: 'server_error', error_description: 'internal error' });
      assert.equal(r.headers['cache-control'], 'no-store');
    }
  });
});
