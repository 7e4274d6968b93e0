/**
 * Helpers for the strong-authentication tests: JWT client assertions, DPoP proofs, a PKI made with the
 * `openssl` CLI (CA, server and client certificates), and HTTPS requests with a client certificate.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };
export const INVALID_DPOP = { error: 'invalid_dpop_proof', error_description: 'the DPoP proof is invalid' };

export const now = () => Math.floor(Date.now() / 1000);
export const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

export async function keyPair(alg = 'ES256', kid: string = randomUUID()): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig' };
  return { privateKey, publicKey, publicJwk, kid };
}

/** A client assertion; `claims` override the defaults (undefined removes a claim). */
export async function assertion(
  key: CryptoKey | Uint8Array,
  clientId: string,
  aud: unknown,
  opts: { claims?: Record<string, unknown>; header?: Record<string, unknown> } = {},
): Promise<string> {
  const t = now();
  const claims: Record<string, unknown> = { iss: clientId, sub: clientId, aud, iat: t, exp: t + 60, jti: randomUUID(), ...(opts.claims ?? {}) };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  const header = { alg: 'ES256', ...(opts.header ?? {}) };
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

/** An RFC 9449 proof; `claims`/`header` override the defaults (undefined removes an entry). */
export async function dpopProof(
  kp: KeyPair,
  htu: string,
  opts: { claims?: Record<string, unknown>; header?: Record<string, unknown>; alg?: string; signWith?: CryptoKey } = {},
): Promise<string> {
  const claims: Record<string, unknown> = { jti: randomUUID(), htm: 'POST', htu, iat: now(), ...(opts.claims ?? {}) };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  const { kid: _kid, use: _use, ...jwk } = kp.publicJwk;
  const header: Record<string, unknown> = { alg: opts.alg ?? 'ES256', typ: 'dpop+jwt', jwk, ...(opts.header ?? {}) };
  for (const k of Object.keys(header)) if (header[k] === undefined) delete header[k];
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(opts.signWith ?? kp.privateKey);
}

// --- PKI with the openssl CLI ---

export interface Pki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** PEM paths and text of a client certificate. */
  client(name: string): { cert: string; key: string; certPem: string; keyPem: string; x509: X509Certificate };
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * A CA (`ca`), a rogue CA (`rogue`) whose certificates must never pass, a server certificate for
 * 127.0.0.1 issued by `ca`, and client certificates:
 * - `orders`: CN=orders,O=Acme,C=US with SANs DNS:orders.acme.test, URI:spiffe://acme/orders, IP:10.1.2.3, email:orders@acme.test (by `ca`)
 * - `billing`: CN=billing,O=Acme,C=US (by `ca`)
 * - `imposter`: the same subject and SANs as `orders`, issued by `rogue`
 * - `expired`: the same subject and SANs as `orders`, issued by `ca`, expired
 * - `selfsigned` and `selfsigned2`: self-signed.
 */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'rogue']) {
    openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=Latchkey test ${ca}`], dir);
  }
  const issue = (name: string, ca: string, subj: string, san: string, days = '2') => {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', days, '-extfile', `${name}.ext`], dir);
  };
  issue('server', 'ca', '/CN=127.0.0.1', 'IP:127.0.0.1,DNS:localhost');
  const ordersSan = 'DNS:orders.acme.test,URI:spiffe://acme/orders,IP:10.1.2.3,email:orders@acme.test';
  issue('orders', 'ca', '/C=US/O=Acme/CN=orders', ordersSan);
  issue('billing', 'ca', '/C=US/O=Acme/CN=billing', 'DNS:billing.acme.test');
  issue('imposter', 'rogue', '/C=US/O=Acme/CN=orders', ordersSan);
  // Same subject and SANs as `orders`, by `ca`, but already expired (notAfter before notBefore).
  issue('expired', 'ca', '/C=US/O=Acme/CN=orders', ordersSan, '-1');
  for (const s of ['selfsigned', 'selfsigned2']) {
    openssl(['req', '-x509', ...ec, '-keyout', `${s}.key`, '-out', `${s}.crt`, '-days', '2', '-subj', `/CN=${s}`], dir);
  }
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    client(name) {
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      const certPem = readFileSync(cert, 'utf8');
      return { cert, key, certPem, keyPem: readFileSync(key, 'utf8'), x509: new X509Certificate(certPem) };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** RFC 8705 §3.1 x5t#S256 of a certificate. */
export const x5tS256 = (x: X509Certificate) => createHash('sha256').update(x.raw).digest('base64url');

/** A public JWK carrying a certificate in x5c (RFC 7517 §4.7), for self_signed_tls_client_auth. */
export function jwkWithCertificate(x: X509Certificate): Record<string, unknown> {
  const jwk = x.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { ...jwk, x5c: [x.raw.toString('base64')] };
}

export interface TlsCredentials {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** fetch-like HTTPS request with an optional client certificate (undici's fetch cannot present one). */
export function httpsFetch(url: string | URL, init: { method?: string; headers?: Headers | Record<string, string>; body?: unknown; signal?: AbortSignal | null } = {}, tls: TlsCredentials): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = new Headers(init.headers);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- fetch-like: any other body (URLSearchParams, …) is sent as its string form
    const body = init.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? init.body : String(init.body);
    if (body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    const req = httpsRequest(
      url,
      {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers),
        ca: tls.ca,
        ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
          resolve(new Response(chunks.length ? Buffer.concat(chunks) : null, { status: res.statusCode!, headers: h }));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** POST a form over HTTPS; returns status, headers and parsed JSON like the harness's postForm. */
export async function postFormTls(url: string, body: Record<string, string>, tls: TlsCredentials, headers: Record<string, string> = {}) {
  const res = await httpsFetch(url, { method: 'POST', body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } }, tls);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
