// An independent authorization server for the tests: node-oidc-provider (npm), configured for the
// client credentials grant with JWT access tokens for one resource server, and DPoP.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

export const API = 'https://api.example.test/';

export interface OidcProviderServer {
  issuer: string;
  /** Token endpoint requests seen so far, counted at the HTTP layer. */
  tokenRequests(): number;
  clients: {
    basic: { id: string; secret: string };
    post: { id: string; secret: string };
    jwt: { id: string; secret: string };
    privateKey: { id: string; jwk: Record<string, unknown> };
  };
  close(): Promise<void>;
}

export async function startOidcProvider(opts: { ttl?: number; privateJwk?: Record<string, unknown>; requireDpopNonce?: boolean } = {}): Promise<OidcProviderServer> {
  let tokenRequests = 0;
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token')) tokenRequests += 1;
    handler(req, res); // assigned below, before the issuer URL (the port) is handed out
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const secret = () => randomBytes(32).toString('base64url');
  const clients = {
    basic: { id: 'basic client', secret: `s+${secret()}:/%` },
    post: { id: 'post-client', secret: secret() },
    jwt: { id: 'jwt-client', secret: secret() },
    privateKey: { id: 'pkjwt-client', jwk: opts.privateJwk ?? {} },
  };
  const publicJwk = { ...clients.privateKey.jwk };
  delete publicJwk.d;
  const common = { grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'read write' };
  const provider = new Provider(issuer, {
    clients: [
      { ...common, client_id: clients.basic.id, client_secret: clients.basic.secret, token_endpoint_auth_method: 'client_secret_basic' },
      { ...common, client_id: clients.post.id, client_secret: clients.post.secret, token_endpoint_auth_method: 'client_secret_post' },
      { ...common, client_id: clients.jwt.id, client_secret: clients.jwt.secret, token_endpoint_auth_method: 'client_secret_jwt' },
      ...(opts.privateJwk
        ? [{ ...common, client_id: clients.privateKey.id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicJwk] } }]
        : []),
    ],
    scopes: ['read', 'write', 'admin'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      dPoP: { enabled: true, ...(opts.requireDpopNonce ? { nonceSecret: randomBytes(32), requireNonce: () => true } : {}) },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== API) throw new errors.InvalidTarget();
          return { scope: 'read write admin', audience: API, accessTokenTTL: opts.ttl ?? 3600, accessTokenFormat: 'jwt' };
        },
      },
    },
  });
  const handler = provider.callback() as (req: IncomingMessage, res: ServerResponse) => void; // oidc-provider types it unknown
  return {
    issuer,
    tokenRequests: () => tokenRequests,
    clients,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
