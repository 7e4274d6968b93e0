// A second reference point: the ceiling's exact behaviour (form POST in, fixed
// token JSON out) behind Fastify 5 with default settings, to show what the
// framework itself costs per request.
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const port = Number(process.env.BENCH_PORT ?? 0);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ceiling', alg: 'ES256', use: 'sig' };
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'ceiling' })}.${b64({
  iss: issuer, sub: 'bench-client', client_id: 'bench-client', aud: 'https://api.example.com',
  iat: now, exp: now + 86400, jti: randomUUID(), scope: 'read write',
})}`;
const token = `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
const tokenBody = JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 86400, scope: 'read write' });

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
app.get('/.well-known/jwks.json', (_req, reply) => reply.header('content-type', 'application/json').send(JSON.stringify({ keys: [jwk] })));
app.get('/readyz', (_req, reply) => reply.send({ status: 'ok' }));
await app.listen({ port, host: '127.0.0.1' });
app.server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
process.on('SIGINT', () => app.close().then(() => process.exit(0)));
