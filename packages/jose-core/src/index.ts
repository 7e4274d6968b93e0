/** Latchkey's JOSE core (see docs/decisions.md "One JOSE core"). */
export const JOSE_CORE_VERSION = '0.1.0';
