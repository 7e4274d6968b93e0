// Every error code and every option is documented in the README (cf. fastify's errors test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLIENT_ERROR_CODES, LatchkeyClientError, OAuthErrorResponse } from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('every error code is documented in the README', () => {
  for (const code of CLIENT_ERROR_CODES) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), code);
});

test('the README error table lists exactly the codes that exist', () => {
  const rows = [...readme.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
  assert.deepEqual([...rows].sort(), [...CLIENT_ERROR_CODES].sort());
});

function interfaceMembers(file: string, name: string): string[] {
  const src = readFileSync(new URL(file, import.meta.url), 'utf8');
  const start = src.indexOf(`export interface ${name} `);
  assert.ok(start >= 0, name);
  const body = src.slice(src.indexOf('{', start) + 1, src.indexOf('\n}', start));
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
}

test('every TokenClient and retry option is documented in the README', () => {
  const options = interfaceMembers('../src/token-client.ts', 'TokenClientOptions');
  assert.ok(options.length >= 15, `${options.length} options found`);
  for (const o of options) assert.match(readme, new RegExp(`\\| \`${o}\` \\|`), o);
  for (const o of interfaceMembers('../src/http.ts', 'RetryOptions')) assert.match(readme, new RegExp(`\\| \`retry\\.${o}\` \\|`), o);
});

test('errors carry stable codes and never the secret in their message', () => {
  const e = new OAuthErrorResponse('invalid_client', { status: 401, errorDescription: 'client authentication failed' });
  assert.ok(e instanceof LatchkeyClientError);
  assert.equal(e.code, 'ERR_OAUTH_ERROR_RESPONSE');
  assert.equal(e.error, 'invalid_client');
  assert.equal(e.status, 401);
  assert.equal(e.name, 'OAuthErrorResponse');
});
