/**
 * Prefixes of every secret or token Latchkey generates, so leaked values can be scanned for
 * (SPEC §3 "Client identifiers and secrets") and masked in logs. JWT access tokens carry none.
 */
/** Client secrets. */
export const CLIENT_SECRET_PREFIX = 'lk_';
/** Opaque (reference) access tokens: anything else cannot be one of ours, so no store lookup. */
export const OPAQUE_TOKEN_PREFIX = 'lko_';
/** Initial access tokens (RFC 7591 §3). */
export const INITIAL_ACCESS_TOKEN_PREFIX = 'lki_';
/** Registration access tokens (RFC 7592 §3). */
export const REGISTRATION_ACCESS_TOKEN_PREFIX = 'lkr_';

export const TOKEN_PREFIXES = [CLIENT_SECRET_PREFIX, OPAQUE_TOKEN_PREFIX, INITIAL_ACCESS_TOKEN_PREFIX, REGISTRATION_ACCESS_TOKEN_PREFIX] as const;
