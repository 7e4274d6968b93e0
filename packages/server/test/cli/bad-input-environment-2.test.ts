import { describe, it } from 'node:test';
import { checkCases, ENVIRONMENT_CASES, setUp } from './bad-input-cases.js';

// Issue #17 item 5: store, TLS, network and file errors name the setting, path or host (part 2 of 2).
setUp();
describe('store, TLS, network and file mistakes (part 2): one line naming the setting, path or host; no stack trace or SQL', () => {
  it('runs them all', { timeout: 170_000 }, () => checkCases(Object.fromEntries(Object.entries(ENVIRONMENT_CASES).slice(14))));
});
