import { describe, it } from 'node:test';
import { checkCases, OPTION_CASES, setUp } from './bad-input-cases.js';

// Issue #17 item 5: option values typed wrong → exit 2, one line naming the option, no internals (part 2 of 2).
setUp();
describe('bad option values (part 2): exit 2, one line naming the option, no stack trace or SQL', () => {
  it('runs them all', { timeout: 170_000 }, () => checkCases(Object.fromEntries(Object.entries(OPTION_CASES).slice(14))));
});
