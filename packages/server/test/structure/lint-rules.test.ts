/**
 * The local structure rules (scripts/lint/latchkey-plugin.js) catch the shapes issue #13 removed: the five
 * module-global registries and the import-time registrations that filled them (code below is copied from
 * the pre-#13 sources), and accept what a module is allowed to do at its top level.
 */
import { describe, it } from 'node:test';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import plugin from '../../../../scripts/lint/latchkey-plugin.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const rules = plugin.rules!;
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2024, sourceType: 'module' } });

tester.run('no-exported-mutable-collections', rules['no-exported-mutable-collections']!, {
  valid: [
    "export const settings = { port: { env: 'LATCHKEY_PORT' } } as const;",
    'export const ALGS = Object.freeze(["ES256", "EdDSA"]);',
    'export const METHODS: readonly string[] = ["client_secret_basic"];',
    'export const TABLE: Readonly<Record<string, number>> = { a: 1 };',
    'export const LIMIT = 10;',
    'export function makeRegistry(): string[] { return []; }',
    'const cache = new Map<string, number>(); export function get(k: string) { return cache.get(k); }',
    'export const re = /x/;',
  ],
  invalid: [
    // http/server.ts, protocol/metadata.ts, client-auth/index.ts, tokens/binding.ts before #13:
    { code: 'export const routeInstallers: RouteInstaller[] = [];', errors: [{ messageId: 'collection' }] },
    { code: 'export const metadataContributors: ((s: Services) => Record<string, unknown>)[] = [];', errors: [{ messageId: 'collection' }] },
    { code: 'export const methodEnabled: Partial<Record<TokenEndpointAuthMethod, (s: Services) => boolean>> = {};', errors: [{ messageId: 'collection' }] },
    { code: 'export const authenticators: ClientAuthenticator[] = [clientSecretBasic, clientSecretPost];', errors: [{ messageId: 'collection' }] },
    { code: 'export const binders: Binder[] = [];', errors: [{ messageId: 'collection' }] },
    { code: 'export const byKid = new Map<string, Key>();', errors: [{ messageId: 'collection' }] },
    { code: 'const hooks = new Set<() => void>(); export { hooks };', errors: [{ messageId: 'collection' }] },
    { code: 'export let current: string | undefined;', errors: [{ messageId: 'binding' }] },
  ],
});

tester.run('no-import-time-side-effects', rules['no-import-time-side-effects']!, {
  valid: [
    "import { x } from './x.js'; export function f() { x.push(1); }",
    'const TYPES: Record<string, string> = { ".js": "text/javascript" }; export class A {}',
    "'use strict'; export const n = 1;",
    'export const log = createLogger("info");',
    'type T = string; interface I { a: T } declare const d: number; export default function () {}',
  ],
  invalid: [
    // client-auth/index.ts + features.ts pattern: registration by import.
    { code: 'export function registerAuthenticator(a: A) { authenticators.push(a); }\nregisterAuthenticator(mutualTls);', errors: [{ messageId: 'statement', data: { kind: 'call' } }] },
    { code: "routeInstallers.push(async (app, s) => { app.post('/oauth2/introspect', h); });", errors: [{ messageId: 'statement', data: { kind: 'call' } }] },
    { code: "methodEnabled['tls_client_auth'] = (s) => Boolean(s.config.tlsCa);", errors: [{ messageId: 'statement', data: { kind: 'assignment' } }] },
    { code: 'for (const m of ["a", "b"]) registry.add(m);', errors: [{ messageId: 'statement' }] },
    { code: 'if (flag) setup();', errors: [{ messageId: 'statement' }] },
    { code: 'await program.parseAsync(process.argv);', errors: [{ messageId: 'statement' }] },
    { code: 'export const n = binders.push(dpopBinder);', errors: [{ messageId: 'mutation' }] },
    { code: 'const merged = Object.assign(defaults, overrides);', errors: [{ messageId: 'mutation' }] },
  ],
});
