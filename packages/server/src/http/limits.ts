/**
 * The HTTP layer's limits, one value each for every listener kind (plain, TLS, TLS with client
 * certificates): Fastify does not apply its own timeouts to a server made by `serverFactory`, so
 * `listener.ts` sets these on the node:http / node:https server it creates.
 */

/** Largest request body, on the OAuth endpoints and on every Fastify route (413 beyond). */
export const BODY_LIMIT = 64 * 1024;

/** Largest request head (node's default is 16 KiB too; fixed here so http and https agree). */
export const MAX_HEADER_SIZE = 16 * 1024;

export const TIMEOUTS = {
  /** Whole request received (node `requestTimeout`). */
  request: 30_000,
  /** Request head received (node `headersTimeout`). */
  headers: 20_000,
  /** Idle keep-alive socket closed after (node `keepAliveTimeout`). */
  keepAlive: 10_000,
  /** Inactive socket destroyed after (node `server.setTimeout`). */
  connection: 30_000,
} as const;
