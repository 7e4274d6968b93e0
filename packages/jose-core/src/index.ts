/** Latchkey's JOSE core (see docs/decisions.md "One JOSE core"). node:crypto only. */
export const JOSE_CORE_VERSION = '0.1.0';
export * from './errors.js';
export * from './algorithms.js';
export { isCanonicalBase64url } from './base64url.js';
export * from './jwk.js';
export * from './thumbprint.js';
export * from './compact.js';
export * from './verify.js';
export * from './sign.js';
export * from './dpop.js';
export * from './generations.js';
