/**
 * A small but real authorization server for tests: node:http on a random
 * 127.0.0.1 port serving RFC 8414 metadata, a JWKS and an RFC 7662
 * introspection endpoint, with tokens signed by jose. Also the forge for bad tokens.
 */
import { createServer, type Server } from 'node:http';
import { KeyObject, randomUUID, sign as cryptoSign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TestIssuer {
  url: string;
  issuer: string;
  audience: string;
  keys: IssuerKey[];
  /** Keys currently published in the JWKS (by kid); defaults to all keys. */
  published: Set<string>;
  jwksFetches: number;
  metadataFetches: number;
  /** When set, the JWKS endpoint answers this status instead. */
  jwksStatus: number | undefined;
  /** opaque token → introspection answer */
  opaque: Map<string, Record<string, unknown>>;
  introspectionCalls: { authorization: string | undefined; body: URLSearchParams }[];
  introspectionStatus: number | undefined;
  /** Delay before the introspection endpoint answers (ms). */
  introspectionDelayMs: number;
  /** client_id:secret accepted by the introspection endpoint (Basic). */
  introspectionClient: { id: string; secret: string };
  addKey(alg?: string, kid?: string): Promise<IssuerKey>;
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  alg?: string;
  kid?: string | null;
  typ?: string | null;
  key?: IssuerKey;
  header?: Record<string, unknown>;
  /** Omit these standard claims. */
  omit?: string[];
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Waits until `condition()` holds (background work landed), failing after `timeoutMs`: no fixed sleeps on a busy machine. */
export async function until(condition: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function startIssuer(options: { algs?: string[]; audience?: string } = {}): Promise<TestIssuer> {
  const state: TestIssuer = {
    url: '',
    issuer: '',
    audience: options.audience ?? 'https://api.example.test',
    keys: [],
    published: new Set(),
    jwksFetches: 0,
    metadataFetches: 0,
    jwksStatus: undefined,
    opaque: new Map(),
    introspectionCalls: [],
    introspectionStatus: undefined,
    introspectionDelayMs: 0,
    introspectionClient: { id: 'rs-client', secret: 'rs-secret:with/odd+chars' },
    async addKey(alg = 'ES256', kid = randomUUID()) {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
      const key = { kid, alg, privateKey, publicJwk };
      state.keys.push(key);
      state.published.add(kid);
      return key;
    },
    async sign(claims = {}, o = {}) {
      const key = o.key ?? state.keys.find((k) => k.alg === (o.alg ?? k.alg))!;
      const now = nowSeconds();
      const payload: JWTPayload = {
        iss: state.issuer,
        sub: 'client-1',
        client_id: 'client-1',
        aud: state.audience,
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
        scope: 'read:orders',
        ...claims,
      };
      for (const c of o.omit ?? []) delete payload[c];
      const header: Record<string, unknown> = { alg: o.alg ?? key.alg, ...(o.header ?? {}) };
      if (o.typ !== null) header.typ = o.typ ?? 'at+jwt';
      if (o.kid !== null) header.kid = o.kid ?? key.kid;
      return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
    },
    close: async () => {},
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/.well-known/oauth-authorization-server' || path === '/.well-known/openid-configuration') {
        state.metadataFetches++;
        return json(200, {
          issuer: state.issuer,
          jwks_uri: `${state.url}/jwks`,
          token_endpoint: `${state.url}/token`,
          introspection_endpoint: `${state.url}/introspect`,
        });
      }
      if (path === '/jwks') {
        state.jwksFetches++;
        if (state.jwksStatus !== undefined) return json(state.jwksStatus, { error: 'nope' });
        return json(200, { keys: state.keys.filter((k) => state.published.has(k.kid)).map((k) => k.publicJwk) });
      }
      if (path === '/introspect' && req.method === 'POST') {
        if (state.introspectionDelayMs > 0) return void setTimeout(introspect, state.introspectionDelayMs);
        return introspect();
      }
      json(404, { error: 'not_found' });

      function introspect() {
        const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        state.introspectionCalls.push({ authorization: req.headers.authorization, body });
        if (state.introspectionStatus !== undefined) return json(state.introspectionStatus, { error: 'server_error' });
        const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
        const expected = 'Basic ' + Buffer.from(`${enc(state.introspectionClient.id)}:${enc(state.introspectionClient.secret)}`).toString('base64');
        if (req.headers.authorization !== expected) return json(401, { error: 'invalid_client' });
        const answer = state.opaque.get(body.get('token') ?? '');
        return json(200, answer ?? { active: false });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  state.issuer = state.url;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  for (const alg of options.algs ?? ['ES256']) await state.addKey(alg);
  return state;
}

/** Re-encodes a token with a modified header/payload but the original signature (tampering). */
export function tamper(token: string, change: { header?: Record<string, unknown>; payload?: Record<string, unknown> }): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = { ...JSON.parse(Buffer.from(h, 'base64url').toString()), ...change.header };
  const payload = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), ...change.payload };
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${change.header ? enc(header) : h}.${change.payload ? enc(payload) : p}.${s}`;
}

export function encodeSegment(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** Signs an arbitrary header/payload with an ES256 issuer key using node:crypto (no library-side validation). */
export function signRaw(key: IssuerKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  const sig = cryptoSign('sha256', Buffer.from(input), { key: KeyObject.from(key.privateKey), dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}
