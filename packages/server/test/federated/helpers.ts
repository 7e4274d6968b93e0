/**
 * Fake workload-identity issuers for the federated tests: keys we generate, tokens shaped like the
 * platforms' (Kubernetes projected service-account tokens, GitHub Actions OIDC tokens, SPIFFE
 * JWT-SVIDs), and a node:http server serving OIDC discovery + JWKS that counts its hits.
 */
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const JWT_SPIFFE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';
export const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };
export const now = () => Math.floor(Date.now() / 1000);

export interface IssuerKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function issuerKey(alg = 'ES256', kid: string = randomUUID()): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A token signed by `key`; `claims` override the defaults (undefined removes one). */
export async function platformToken(
  key: IssuerKey,
  claims: Record<string, unknown>,
  opts: { header?: Record<string, unknown>; lifetime?: number } = {},
): Promise<string> {
  const t = now();
  const all: Record<string, unknown> = { iat: t, nbf: t, exp: t + (opts.lifetime ?? 600), ...claims };
  for (const k of Object.keys(all)) if (all[k] === undefined) delete all[k];
  const header: Record<string, unknown> = { alg: key.publicJwk.alg ?? 'ES256', kid: key.kid, ...(opts.header ?? {}) };
  for (const k of Object.keys(header)) if (header[k] === undefined) delete header[k];
  return new SignJWT(all).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** `alg: none` (RFC 7519 §6.1): an unsecured JWT, which must never authenticate anything. */
export function unsecuredToken(claims: Record<string, unknown>, kid?: string): string {
  const h = Buffer.from(JSON.stringify({ alg: 'none', ...(kid ? { kid } : {}) })).toString('base64url');
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
}

/** A Kubernetes projected service-account token's claims (TokenRequest API, `audience:` = Latchkey's issuer). */
export function kubernetesClaims(iss: string, aud: string, ns: string, sa: string): Record<string, unknown> {
  return {
    iss,
    sub: `system:serviceaccount:${ns}:${sa}`,
    aud: [aud],
    jti: randomUUID(),
    'kubernetes.io': { namespace: ns, serviceaccount: { name: sa, uid: randomUUID() }, pod: { name: `${sa}-7d9f`, uid: randomUUID() } },
  };
}

/** A GitHub Actions OIDC token's claims (`core.getIDToken(audience)`). */
export function githubClaims(iss: string, aud: string, repo: string, env: string, ref = 'refs/heads/main'): Record<string, unknown> {
  const [owner] = repo.split('/');
  return {
    iss,
    sub: `repo:${repo}:environment:${env}`,
    aud,
    jti: randomUUID(),
    repository: repo,
    repository_owner: owner,
    ref,
    environment: env,
    workflow: 'deploy',
    event_name: 'push',
    runner_environment: 'github-hosted',
  };
}

/** A fake OIDC issuer: discovery + JWKS over node:http, whose published keys a test can change. */
export class FakeIssuer {
  server: Server | undefined;
  url = '';
  keys: JWK[] = [];
  hits = { discovery: 0, jwks: 0 };
  /** The `issuer` the discovery document names (defaults to the server's URL). */
  discoveryIssuer: string | undefined;
  /** Extra top-level members of the JWKS document (e.g. a SPIFFE bundle's `spiffe_refresh_hint`). */
  jwksExtras: Record<string, unknown> = {};

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        this.hits.discovery++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: this.discoveryIssuer ?? this.url, jwks_uri: `${this.url}/jwks` }));
      } else if (req.url === '/jwks') {
        this.hits.jwks++;
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ ...this.jwksExtras, keys: this.keys }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
