import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { ConfigError, type Config } from '../config.js';
import { invalidClient, invalidRequest } from '../shared/errors.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import type { CachedClient } from '../store/client-cache.js';
import type { TokenEndpointAuthMethod } from '../store/types.js';
import { certificateThumbprint } from '../tokens/certificate-binding.js';
import { ClientKeyError } from './client-jwks.js';
import type { AuthContext, AuthenticatedClient, ClientAuthenticator } from './types.js';

export { certificateThumbprint };
export { parseCertificateHeader } from '../shared/client-certificate.js';

function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`invalid setting "${setting}": cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * node:https options for the TLS listener (`tlsCert`/`tlsKey`, optional `tlsCa`), or undefined for
 * plain HTTP. Client certificates are requested but not required, and not rejected by the TLS layer:
 * self-signed ones (RFC 8705 §2.2) must reach the authenticator, and clients using other methods
 * connect without one. tls_client_auth then requires the chain to have been verified against `tlsCa`.
 */
export function tlsOptionsFromConfig(c: Config): Record<string, unknown> | undefined {
  if (!c.tlsCert || !c.tlsKey) return undefined;
  return {
    cert: readPem(c.tlsCert, 'tlsCert'),
    key: readPem(c.tlsKey, 'tlsKey'),
    ...(c.tlsCa ? { ca: readPem(c.tlsCa, 'tlsCa') } : {}),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/** The CA certificates of `tlsCa` (issuers of tls_client_auth certificates); [] when unset. */
export function clientCasFromConfig(c: Config): X509Certificate[] {
  if (!c.tlsCa) return [];
  const text = readPem(c.tlsCa, 'tlsCa').toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (e) {
    throw new ConfigError(`invalid setting "tlsCa": ${c.tlsCa} holds a malformed certificate: ${(e as Error).message}`);
  }
}

/** Whether this node can receive client certificates at all (TLS listener or trusted proxy header). */
export function certificatesReceivable(c: Config): boolean {
  return !!c.tlsCert || !!(c.tlsClientCertHeader && c.trustProxy);
}

// --- tls_client_auth matching (RFC 8705 §2.1.2) ---

const ATTR_ALIASES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS',
  E: 'EMAILADDRESS',
  S: 'ST',
};

/** Splits on `sep` where not escaped by a backslash (RFC 4514 §2.4). */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[i + 1];
      i++;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** RFC 4514 §3 value unescaping: `\` + special character, or `\` + two hex digits (UTF-8 octets). */
function unescapeValue(v: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    if (ch === '\\' && i + 1 < v.length) {
      const hex = v.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
      bytes.push(...Buffer.from(v[i + 1]!, 'utf8'));
      i++;
      continue;
    }
    bytes.push(...Buffer.from(ch, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One RDN as a sorted list of normalized "TYPE=value" (caseIgnoreMatch: case and inner spaces folded). */
function normalizeRdn(rdn: string): string {
  const avas = splitUnescaped(rdn, '+').map((ava) => {
    const eq = ava.indexOf('=');
    if (eq <= 0) return '\u0000invalid';
    let type = ava.slice(0, eq).trim().toUpperCase();
    type = ATTR_ALIASES[type] ?? type;
    const value = unescapeValue(ava.slice(eq + 1).trim()).trim().replace(/\s+/g, ' ').toLowerCase();
    return `${type}=${value}`;
  });
  return avas.sort().join('+');
}

/** An RFC 4514 string DN (most specific RDN first) as normalized RDNs in certificate order. */
export function parseRfc4514(dn: string): string[] {
  return splitUnescaped(dn, ',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0)
    .map(normalizeRdn)
    .reverse();
}

/** Node's `X509Certificate.subject` (one RDN per line, certificate order, RFC 2253 escapes) as normalized RDNs. */
export function parseNodeSubject(subject: string): string[] {
  return subject
    .split('\n')
    .filter((l) => l.length > 0)
    .map(normalizeRdn);
}

/** Node's `subjectAltName` text: `TYPE:value` entries separated by ", "; values with ", " are JSON-quoted. */
export function parseSubjectAltName(san: string | undefined): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  if (!san) return out;
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon === -1) break;
    const type = san.slice(i, colon);
    let value: string;
    let j = colon + 1;
    if (san[j] === '"') {
      let k = j + 1;
      while (k < san.length && san[k] !== '"') k += san[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(san.slice(j, k + 1)) as string;
      } catch {
        value = san.slice(j, k + 1);
      }
      j = k + 1;
    } else {
      const end = san.indexOf(', ', j);
      value = end === -1 ? san.slice(j) : san.slice(j, end);
      j = end === -1 ? san.length : end;
    }
    out.push({ type, value });
    if (san.startsWith(', ', j)) j += 2;
    i = j;
  }
  return out;
}

function sameIp(a: string, b: string): boolean {
  const ta = isIP(a);
  if (ta === 0 || ta !== isIP(b)) return false;
  const l = new BlockList();
  l.addAddress(a, ta === 4 ? 'ipv4' : 'ipv6');
  return l.check(b, ta === 4 ? 'ipv4' : 'ipv6');
}

/**
 * RFC 8705 §2.1.2: the certificate matches the ONE registered subject DN or SAN value. Exact matches
 * only — no wildcards, no suffixes: DN by distinguishedNameMatch (attribute types by name or OID,
 * values case-insensitively with spaces folded, multi-valued RDNs in any order), dNSName
 * case-insensitively, URI and e-mail exactly (e-mail domain case-insensitively), IP by address value.
 */
export function certificateMatches(cert: X509Certificate, extra: Record<string, unknown>): boolean {
  const dn = extra.tls_client_auth_subject_dn;
  if (typeof dn === 'string') {
    const want = parseRfc4514(dn);
    const got = parseNodeSubject(cert.subject);
    return want.length > 0 && want.length === got.length && want.every((r, i) => r === got[i]);
  }
  const sans = parseSubjectAltName(cert.subjectAltName);
  const dns = extra.tls_client_auth_san_dns;
  if (typeof dns === 'string') {
    const w = dns.toLowerCase().replace(/\.$/, '');
    return sans.some((s) => s.type === 'DNS' && s.value.toLowerCase().replace(/\.$/, '') === w);
  }
  const uri = extra.tls_client_auth_san_uri;
  if (typeof uri === 'string') return sans.some((s) => s.type === 'URI' && s.value === uri);
  const ip = extra.tls_client_auth_san_ip;
  if (typeof ip === 'string') return sans.some((s) => s.type === 'IP Address' && sameIp(ip, s.value));
  const email = extra.tls_client_auth_san_email;
  if (typeof email === 'string') {
    const norm = (e: string) => {
      const at = e.lastIndexOf('@');
      return at === -1 ? e : e.slice(0, at) + e.slice(at).toLowerCase();
    };
    return sans.some((s) => s.type === 'email' && norm(s.value) === norm(email));
  }
  return false;
}

/**
 * `tls_client_auth` and `self_signed_tls_client_auth` (RFC 8705 §2). The request carries `client_id`
 * ("the client_id parameter is REQUIRED" for these methods, RFC 8705 §2) and a client certificate from
 * our TLS listener or a trusted proxy.
 *
 * - tls_client_auth: the chain verified against `tlsCa`, and the registered subject DN or SAN matches;
 * - self_signed_tls_client_auth: the certificate is one registered in the client's JWKS (`x5c`).
 *
 * Does not check: revocation (CRL/OCSP) of client certificates; the validity period of registered
 * self-signed certificates (registration is the trust, RFC 8705 §2.2).
 */
export function mutualTls(ctx: Pick<AuthContext, 'clients' | 'clientKeys' | 'config'>): ClientAuthenticator {
  const receivable = certificatesReceivable(ctx.config);
  // Advertised only when usable: certificates can reach this node, and tls_client_auth has a CA to verify against.
  const methods: TokenEndpointAuthMethod[] = [];
  if (receivable && ctx.config.tlsCa) methods.push('tls_client_auth');
  if (receivable) methods.push('self_signed_tls_client_auth');
  return {
    kind: 'tls',
    methods,
    metadata: {},
    present(req) {
      return req.clientCertificate !== undefined;
    },
    async authenticate(req: OAuthRequest, params: FormParams): Promise<AuthenticatedClient> {
      const { certificate: cert, chainVerified } = req.clientCertificate!;
      const clientId = params.get('client_id');
      if (clientId === undefined) throw invalidRequest('client_id is required with mutual TLS client authentication (RFC 8705 §2)');
      const c: CachedClient | undefined = ctx.clients.get(clientId);
      if (!c) throw invalidClient('unknown client');
      if (c.record.disabled) throw invalidClient('client disabled');
      const method = c.record.token_endpoint_auth_method;
      if (method === 'tls_client_auth') {
        if (!chainVerified) throw invalidClient('client certificate not issued by a trusted CA (tlsCa)');
        if (!certificateMatches(cert, c.record.extra)) throw invalidClient('client certificate does not match the registered subject');
      } else if (method === 'self_signed_tls_client_auth') {
        let ok: boolean;
        try {
          ok = await ctx.clientKeys.hasCertificate(c, cert);
        } catch (e) {
          if (e instanceof ClientKeyError) throw invalidClient(`${e.code}: ${e.message}`);
          throw e;
        }
        if (!ok) throw invalidClient('client certificate is not registered in the client JWKS');
      } else {
        // SPEC §3: each client is registered with exactly one method; any other is invalid_client.
        throw invalidClient(`client is registered for ${method}`);
      }
      return { client: c, method, certificateThumbprint: certificateThumbprint(cert) };
    },
  };
}
