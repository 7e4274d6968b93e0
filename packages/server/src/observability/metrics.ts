import { Counter, Histogram, Registry, collectDefaultMetrics, Gauge } from 'prom-client';

/** Prometheus metrics (GET /metrics). Labels never carry client secrets or tokens. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_process_', eventLoopMonitoringPrecision: 1 });
  const tokensIssued = new Counter({
    name: 'latchkey_tokens_issued_total',
    help: 'Access tokens issued, by format and client authentication method',
    labelNames: ['format', 'method'] as const,
    registers: [registry],
  });
  const tokenLatency = new Histogram({
    name: 'latchkey_token_request_duration_seconds',
    help: 'Token endpoint processing time by outcome (issued or the OAuth error code)',
    labelNames: ['outcome'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'latchkey_client_auth_failures_total',
    help: 'Failed client authentications',
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'latchkey_rate_limited_total',
    help: 'Requests refused with 429',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'latchkey_store_errors_total',
    help: 'Requests that failed because the store was unavailable (answered 503)',
    registers: [registry],
  });
  const clients = new Gauge({ name: 'latchkey_clients', help: 'Clients in the in-memory cache', registers: [registry] });
  const introspections = new Counter({
    name: 'latchkey_introspections_total',
    help: 'Introspection requests by result',
    labelNames: ['active'] as const,
    registers: [registry],
  });
  const redisFallbacks = new Counter({
    name: 'latchkey_redis_fallbacks_total',
    help: 'Operations served by the store or local state because Redis was unavailable',
    registers: [registry],
  });
  const revocations = new Counter({ name: 'latchkey_revocations_total', help: 'Revocation requests', registers: [registry] });
  return { registry, tokensIssued, tokenLatency, authFailures, rateLimited, storeErrors, clients, introspections, revocations, redisFallbacks };
}

export type Metrics = ReturnType<typeof createMetrics>;
