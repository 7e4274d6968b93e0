import { isValidScopeToken } from '../../shared/scope.js';

/** RFC 6749 §3.3 scope tokens, space-separated. */
export const scopeTokensValid = (s: string) => s.split(' ').filter(Boolean).every(isValidScopeToken);
