import type { Logger } from 'pino';

/**
 * The one request log line, written for the OAuth endpoints and for every Fastify route alike: method,
 * path without the query string, status and milliseconds — never headers, query strings or bodies.
 */
export function logRequest(log: Logger, method: string | undefined, path: string, status: number, ms: number): void {
  if (log.isLevelEnabled('info')) log.info({ method, path, status, ms: Math.round(ms * 100) / 100 }, 'request');
}

/** The path of a request URL without its query string. */
export function pathOf(url: string | undefined): string {
  const u = url ?? '';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}
