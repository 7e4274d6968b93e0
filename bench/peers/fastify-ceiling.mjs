// A second reference point: the ceiling's exact behaviour (form POST in, fixed
// token JSON out) behind Fastify 5 with default settings, to show what the
// framework itself costs per request.
import Fastify from 'fastify';
import { fixedToken } from './common.mjs';

const port = Number(process.env.BENCH_PORT ?? 0);
const { tokenBody, jwksBody } = fixedToken(`http://127.0.0.1:${port}`);

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
app.post('/oauth2/token', (req, reply) => {
  const params = new URLSearchParams(req.body);
  if (params.get('grant_type') !== 'client_credentials') {
    return reply.code(400).header('content-type', 'application/json').send('{"error":"unsupported_grant_type"}');
  }
  return reply.code(200).header('content-type', 'application/json').header('cache-control', 'no-store').send(tokenBody);
});
app.get('/.well-known/jwks.json', (_req, reply) => reply.header('content-type', 'application/json').send(jwksBody));
app.get('/readyz', (_req, reply) => reply.send({ status: 'ok' }));
await app.listen({ port, host: '127.0.0.1' });
app.server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
process.on('SIGINT', () => app.close().then(() => process.exit(0)));
