// Peer (d): @node-oauth/oauth2-server (v5) behind plain node:http, with an
// in-memory model whose generateAccessToken signs an RFC 9068-style ES256 JWT
// with jose (WebCrypto) — the way a careful user of that library would do it.
import { listen, serveCommon } from './common.mjs';
import http from 'node:http';
import { timingSafeEqual, randomUUID } from 'node:crypto';
import OAuth2Server from '@node-oauth/oauth2-server';
import { SignJWT, generateKeyPair, exportJWK } from 'jose';

const { Request, Response } = OAuth2Server;
const port = Number(process.env.BENCH_PORT ?? 0);
const issuer = `http://127.0.0.1:${port}`;
const audience = process.env.BENCH_AUDIENCE ?? 'https://api.example.com';
const clients = new Map(
  JSON.parse(process.env.BENCH_CLIENTS ?? '[]')
    .filter((c) => c.client_secret)
    .map((c) => [c.client_id, { ...c, secretBuf: Buffer.from(c.client_secret) }]),
);

const { privateKey, publicKey } = await generateKeyPair('ES256');
const kid = 'node-oauth2-server-bench';
const jwksBody = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
const TTL = 3600;

const model = {
  async getClient(clientId, clientSecret) {
    const c = clients.get(clientId);
    if (!c || clientSecret == null) return null;
    const given = Buffer.from(clientSecret);
    if (given.length !== c.secretBuf.length || !timingSafeEqual(given, c.secretBuf)) return null;
    return { id: c.client_id, grants: ['client_credentials'], accessTokenLifetime: TTL, scope: (c.scope ?? 'read write').split(' ') };
  },
  async getUserFromClient(client) {
    return { id: client.id };
  },
  async validateScope(_user, client, scope) {
    if (!scope || scope.length === 0) return client.scope;
    return scope.every((s) => client.scope.includes(s)) ? scope : false;
  },
  async generateAccessToken(client, _user, scope) {
    return new SignJWT({ client_id: client.id, scope: scope.join(' ') })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(issuer)
      .setSubject(client.id)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${TTL}s`)
      .setJti(randomUUID())
      .sign(privateKey);
  },
  async saveToken(token, client, user) {
    // JWTs are self-contained: nothing to store (the same choice as the other peers).
    return { ...token, client, user };
  },
};

const oauth = new OAuth2Server({ model, accessTokenLifetime: TTL, allowEmptyState: true });

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/oauth2/token') {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { raw += chunk; });
    req.on('end', async () => {
      const request = new Request({ headers: req.headers, method: req.method, query: {}, body: Object.fromEntries(new URLSearchParams(raw)) });
      const response = new Response({ headers: {} });
      try {
        await oauth.token(request, response, { requireClientAuthentication: { client_credentials: true } });
      } catch (err) {
        response.status = err.code ?? 500;
        response.body = { error: err.name ?? 'server_error', error_description: err.message };
      }
      res.writeHead(response.status ?? 200, { ...response.headers, 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(response.body));
    });
    return;
  }
  serveCommon(req, res, jwksBody);
});
listen(server, port);
