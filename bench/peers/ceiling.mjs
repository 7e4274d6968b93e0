// Peer (a): the ceiling. A bare node:http server that does the least a token
// endpoint must do — read a small form POST, parse it, answer a small JSON —
// and nothing else. Its "token" is one JWT signed at start-up, so the harness
// can verify it like every other peer's.
import http from 'node:http';
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';

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
const jwksBody = JSON.stringify({ keys: [jwk] });

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/oauth2/token') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const params = new URLSearchParams(body);
      if (params.get('grant_type') !== 'client_credentials') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"unsupported_grant_type"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(tokenBody);
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(jwksBody);
    return;
  }
  if (req.method === 'GET' && req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
