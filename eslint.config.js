// ESLint flat config (issue #13 item 7). `npm run lint`.
//  - packages/*/src: typescript-eslint recommendedTypeChecked, no `any`, plus the local structure rules
//    (no import-time side effects, no exported registries) and "no process.env outside config" in the server.
//  - tests: type-checked too (through the packages' tsconfig.test.json), without the no-unsafe-* family and
//    no-explicit-any (JSON bodies and fixtures are loosely typed on purpose).
//  - plain .js/.mjs (scripts/, bench/, bin/): eslint:recommended.
// Layer and cycle rules live in .dependency-cruiser.cjs (`npm run check:deps`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import latchkey from './scripts/lint/latchkey-plugin.js';

const nodeGlobals = Object.fromEntries(
  [
    'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
    'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'performance', 'fetch', 'Request', 'Response',
    'Headers', 'FormData', 'Blob', 'AbortController', 'AbortSignal', 'TextEncoder', 'TextDecoder', 'crypto', 'globalThis',
    'EventTarget', 'Event', 'MessageChannel', 'WebAssembly',
  ].map((g) => [g, 'readonly']),
);

/** Entry points may run code at import time (they are what gets executed). Each with its reason. */
const ENTRY_POINTS = [
  'packages/server/src/cli/main.ts', // the `latchkey` command: parses argv and runs
  'packages/console/src/main.tsx', // the console's browser entry: renders into the page
];

// A file is checked in the first project that contains it (the client and resource tests import the server's
// test harness, so the server's project comes first).
const TS_PROJECTS = [
  './packages/server/tsconfig.test.json',
  './packages/server/tsconfig.test-dom.json',
  './packages/jose-core/tsconfig.test.json',
  './packages/resource/tsconfig.test.json',
  './packages/client/tsconfig.test.json',
  './packages/console/tsconfig.json',
  './bench/tsconfig.test.json',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**', '**/node_modules/**', '**/*.d.ts', '**/.latchkey/**', 'packages/console/dist/**',
      'packages/console/vite.config.ts', '**/coverage/**',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  // Plain JavaScript: scripts, benchmark harness, the bin shim.
  {
    files: ['**/*.{js,mjs,cjs}'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: nodeGlobals },
    rules: { ...js.configs.recommended.rules, 'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },

  // TypeScript everywhere: type-checked.
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.{ts,tsx,mts}'] })),
  {
    files: ['**/*.{ts,tsx,mts}'],
    languageOptions: {
      parserOptions: { project: TS_PROJECTS, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Fastify handlers and test helpers are async by contract even when a body has nothing to await.
      '@typescript-eslint/require-await': 'off',
    },
  },

  // Sources of every package.
  {
    files: ['packages/*/src/**/*.{ts,tsx}'],
    plugins: { latchkey },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'latchkey/no-import-time-side-effects': 'error',
      'latchkey/no-exported-mutable-collections': 'error',
    },
  },
  { files: ENTRY_POINTS, rules: { 'latchkey/no-import-time-side-effects': 'off' } },
  // Preact event handlers may be async (the framework ignores their result).
  {
    files: ['packages/console/src/**/*.tsx'],
    rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }] },
  },

  // The server reads its environment in one place: config.ts.
  {
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings from Config (packages/server/src/config.ts is the only reader of process.env).' }],
    },
  },

  // Tests: type-checked, but JSON bodies and fixtures are loosely typed on purpose.
  {
    files: ['packages/*/test/**/*.{ts,tsx}', 'bench/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // node:test's describe/it/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      // Async request handlers passed to http.createServer & co. in test fixtures.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
);
