import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../store/store.js';
import type { Metrics } from '../observability/metrics.js';

/** The operations routes; a listener may serve a subset (the ops listener, issue #14). */
export type OpsRoute = 'healthz' | 'readyz' | 'metrics';

/**
 * GET /healthz (process up), /readyz (store answers within 1 s, else 503) and /metrics (Prometheus) —
 * or only the routes in `routes`.
 */
export function opsFeature(o: { store: Pick<Store, 'ping' | 'dialect'>; metrics: Pick<Metrics, 'registry'>; routes?: readonly OpsRoute[] }): {
  readonly name: string;
  readonly plugin: FastifyPluginAsync;
} {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  return {
    name: 'ops',
    plugin: async (app) => {
      const serves = (r: OpsRoute) => o.routes === undefined || o.routes.includes(r);
      if (serves('healthz')) app.get('/healthz', (_req, reply) => reply.code(200).headers(json).send(JSON.stringify({ status: 'ok' })));
      if (serves('readyz')) app.get('/readyz', async (_req, reply) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            o.store.ping(),
            new Promise((_, rej) => {
              timer = setTimeout(() => rej(new Error('store ping timed out')), 1000);
              timer.unref();
            }),
          ]);
          return reply.code(200).headers(json).send(JSON.stringify({ status: 'ready', store: o.store.dialect }));
        } catch {
          return reply
            .code(503)
            .headers({ ...json, 'retry-after': '1' })
            .send(JSON.stringify({ status: 'unavailable', error: 'temporarily_unavailable', error_description: 'store unavailable' }));
        } finally {
          clearTimeout(timer);
        }
      });
      if (serves('metrics')) app.get('/metrics', async (_req, reply) => reply.code(200).header('content-type', o.metrics.registry.contentType).send(await o.metrics.registry.metrics()));
    },
  };
}
