/** Scope that admits a token to the admin API (SPEC §3). Same value as ADMIN_SCOPE in app.ts. */
export const ADMIN_SCOPE_NAME = 'latchkey:admin';
/** Scopes with this prefix belong to Latchkey itself: dynamic registration never grants them unless the initial access token names them. */
export const RESERVED_SCOPE_PREFIX = 'latchkey:';
