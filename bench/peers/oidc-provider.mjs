// Peer (c): node-oidc-provider (v9) doing client credentials with JWT access
// tokens. In v9 a client-credentials token is a JWT only when resource
// indicators resolve a resource server whose accessTokenFormat is 'jwt'; we
// make every request resolve to one default resource server.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.BENCH_PORT ?? 0);
const issuer = `http://127.0.0.1:${port}`;
const audience = process.env.BENCH_AUDIENCE ?? 'https://api.example.com';
const clients = JSON.parse(process.env.BENCH_CLIENTS ?? '[]');
const tokenFormat = process.env.BENCH_TOKEN_FORMAT === 'opaque' ? 'opaque' : 'jwt';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'oidc-provider-bench', alg: 'ES256', use: 'sig' };

// The bundled development adapter is an LRU capped at 1000 entries, so opaque
// tokens would be evicted under load (introspection then says active:false).
// A plain Map with expiry is the fair in-memory store.
const store = new Map();
setInterval(() => {
  const now = Date.now();
  for (const [k, v] of store) if (v.exp <= now) store.delete(k);
}, 5000).unref();
class MapAdapter {
  constructor(model) { this.model = model; }
  async upsert(id, payload, expiresIn) {
    store.set(`${this.model}:${id}`, { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
  }
  async find(id) {
    const e = store.get(`${this.model}:${id}`);
    if (!e || e.exp <= Date.now()) return undefined;
    return e.payload;
  }
  async findByUserCode() { return undefined; }
  async findByUid() { return undefined; }
  async consume(id) {
    const e = store.get(`${this.model}:${id}`);
    if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) { store.delete(`${this.model}:${id}`); }
  async revokeByGrantId() {}
}

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: clients.map((c) => ({
    client_id: c.client_id,
    ...(c.client_secret ? { client_secret: c.client_secret } : {}),
    ...(c.jwks ? { jwks: c.jwks, token_endpoint_auth_signing_alg: 'ES256' } : {}),
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: c.scope ?? 'read write',
    // only an ES256 key is configured; the default (RS256) would be rejected
    id_token_signed_response_alg: 'ES256',
  })),
  jwks: { keys: [signingJwk] },
  scopes: ['read', 'write'],
  ttl: { ClientCredentials: 3600 },
  routes: { token: '/oauth2/token', jwks: '/.well-known/jwks.json', introspection: '/oauth2/introspect' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => audience,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: 'read write',
        audience,
        accessTokenTTL: 3600,
        accessTokenFormat: tokenFormat,
        ...(tokenFormat === 'jwt' ? { jwt: { sign: { alg: 'ES256' } } } : {}),
      }),
    },
  },
});
provider.on('server_error', (_ctx, err) => { console.error('oidc-provider server_error', err); });

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
