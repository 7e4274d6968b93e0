// Shared by the peer servers: a fixed ES256 access token (for the ceilings), the JWKS/readyz routes and
// the listen/shutdown boilerplate.
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';

/** One JWT signed at start-up, and the JWKS that verifies it. */
export function fixedToken(issuer) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ceiling', alg: 'ES256', use: 'sig' };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'ceiling' })}.${b64({
    iss: issuer, sub: 'bench-client', client_id: 'bench-client', aud: 'https://api.example.com',
    iat: now, exp: now + 86400, jti: randomUUID(), scope: 'read write',
  })}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  return {
    tokenBody: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 86400, scope: 'read write' }),
    jwksBody: JSON.stringify({ keys: [jwk] }),
  };
}

/** A fresh ES256 access token per call (node:crypto one-shot sign, R||S), and the JWKS that verifies them. */
export function freshSigner(issuer) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ceiling-es256', alg: 'ES256', use: 'sig' };
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'ceiling-es256' })).toString('base64url');
  const options = { key: privateKey, dsaEncoding: 'ieee-p1363' };
  return {
    jwksBody: JSON.stringify({ keys: [jwk] }),
    tokenBody() {
      const now = Math.floor(Date.now() / 1000);
      const input = `${header}.${Buffer.from(JSON.stringify({
        iss: issuer, sub: 'bench-client', client_id: 'bench-client', aud: 'https://api.example.com',
        iat: now, exp: now + 3600, jti: randomUUID(), scope: 'read write',
      })).toString('base64url')}`;
      const token = `${input}.${sign('sha256', Buffer.from(input), options).toString('base64url')}`;
      return `{"access_token":"${token}","token_type":"Bearer","expires_in":3600,"scope":"read write"}`;
    },
  };
}

/** GET /.well-known/jwks.json, GET /readyz, else 404 (for node:http peers). */
export function serveCommon(req, res, jwksBody) {
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
}

/** Listens on 127.0.0.1:port with long keep-alive; stops cleanly on SIGTERM/SIGINT. */
export function listen(server, port) {
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('SIGINT', () => server.close(() => process.exit(0)));
}
