import { ResourceConfigError, ResourceError } from './errors.js';

/** What a route needs from the token's `scope` (RFC 6749 §3.3, RFC 9068 §2.2.3). */
export interface ScopeRequirement {
  readonly mode: 'all' | 'any';
  readonly scopes: readonly string[];
  /** The RFC 6750 §3 `scope` attribute sent with `insufficient_scope`. */
  readonly challenge: string;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function build(mode: 'all' | 'any', input: readonly (string | readonly string[])[]): ScopeRequirement {
  const scopes = [...new Set(input.flat().flatMap((s) => s.split(' ')).filter((s) => s !== ''))];
  if (scopes.length === 0) throw new ResourceConfigError('scopes', 'at least one scope is required');
  for (const s of scopes) {
    if (!SCOPE_TOKEN.test(s)) throw new ResourceConfigError('scopes', `"${s}" is not an RFC 6749 §3.3 scope-token`);
  }
  return Object.freeze({ mode, scopes: Object.freeze(scopes), challenge: scopes.join(' ') });
}

/**
 * The token must carry **every** listed scope. Arguments may be single scopes or space-separated lists.
 *
 * @example requireScopes('read:orders', 'write:orders')
 */
export function requireScopes(...scopes: (string | readonly string[])[]): ScopeRequirement {
  return build('all', scopes);
}

/**
 * The token must carry **at least one** of the listed scopes. The `insufficient_scope`
 * challenge lists all of them; RFC 6750 §3 has no syntax for "one of".
 *
 * @example requireAnyScope('read:orders', 'admin')
 */
export function requireAnyScope(...scopes: (string | readonly string[])[]): ScopeRequirement {
  return build('any', scopes);
}

/** Accepts a requirement, a scope string or a list (meaning all-of). */
export type ScopeInput = ScopeRequirement | string | readonly string[];

// Adapters pass the same string or array on every request: parse each once.
const parsedStrings = new Map<string, ScopeRequirement>();
const parsedArrays = new WeakMap<readonly string[], ScopeRequirement>();

export function toRequirement(input: ScopeInput | undefined): ScopeRequirement | undefined {
  if (input === undefined) return undefined;
  if (typeof input === 'string') {
    let r = parsedStrings.get(input);
    if (r === undefined) {
      r = requireScopes(input);
      if (parsedStrings.size < 1024) parsedStrings.set(input, r);
    }
    return r;
  }
  if (Array.isArray(input)) {
    let r = parsedArrays.get(input);
    if (r === undefined) {
      r = requireScopes(...(input as readonly string[]));
      parsedArrays.set(input, r);
    }
    return r;
  }
  return input as ScopeRequirement;
}

/** Whether `granted` satisfies `requirement`. */
export function hasScopes(granted: ReadonlySet<string>, requirement: ScopeRequirement): boolean {
  const list = requirement.scopes;
  if (requirement.mode === 'all') {
    for (let i = 0; i < list.length; i++) if (!granted.has(list[i]!)) return false;
    return true;
  }
  for (let i = 0; i < list.length; i++) if (granted.has(list[i]!)) return true;
  return false;
}

/** Throws `ERR_INSUFFICIENT_SCOPE` (RFC 6750 §3.1, HTTP 403) unless `granted` satisfies `requirement`. */
export function assertScopes(granted: ReadonlySet<string>, requirement: ScopeRequirement | undefined): void {
  if (requirement === undefined || hasScopes(granted, requirement)) return;
  throw new ResourceError('ERR_INSUFFICIENT_SCOPE', `needs ${requirement.mode}-of "${requirement.challenge}"`, {
    requiredScope: requirement.challenge,
  });
}

/** Splits an RFC 6749 §3.3 scope string ("space-delimited, case-sensitive strings"). */
export function parseScope(scope: unknown): ReadonlySet<string> {
  if (typeof scope !== 'string' || scope === '') return EMPTY;
  return new Set(scope.split(' ').filter((s) => s !== ''));
}

const EMPTY: ReadonlySet<string> = new Set();
