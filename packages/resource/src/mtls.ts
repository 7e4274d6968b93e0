import { createHash, X509Certificate } from 'node:crypto';

/** A client certificate: DER bytes, a PEM string, or a node:crypto X509Certificate. */
export type CertificateInput = Uint8Array | string | X509Certificate;

/**
 * RFC 8705 §3.1: `x5t#S256` is the base64url SHA-256 of the DER certificate.
 * Returns undefined for input that is not a certificate.
 */
export function certificateThumbprint(cert: CertificateInput): string | undefined {
  let der: Uint8Array;
  try {
    if (cert instanceof X509Certificate) der = cert.raw;
    else if (typeof cert === 'string') der = new X509Certificate(cert).raw;
    else der = new X509Certificate(cert).raw;
  } catch {
    return undefined;
  }
  return createHash('sha256').update(der).digest('base64url');
}

/** Longest header value looked at: a certificate chain of a few KiB, URL-encoded, fits with room to spare. */
const MAX_FORWARDED_LENGTH = 32 * 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PEM = /^-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/;

function strictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/**
 * Reads a client certificate forwarded by a TLS-terminating proxy and returns its DER bytes
 * (undefined when the value is none of these forms; whether the bytes are a certificate is
 * checked by {@link certificateThumbprint}):
 *
 * - RFC 9440 `Client-Cert`: a structured-field byte sequence, `:<base64 DER>:`
 *   (HAProxy: `http-request set-header Client-Cert :%[ssl_c_der,base64]:`);
 * - URL-encoded PEM, nginx `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`
 *   (nginx leaves `-` unescaped, so the value starts with a literal `-----BEGIN`; it is decoded
 *   whenever it holds a `%`) — also Envoy's XFCC `Cert="…"` value, and Traefik's `passTLSClientCert`;
 * - PEM whose line breaks became spaces or tabs (Apache
 *   `RequestHeader set X-SSL-Client-Cert "%{SSL_CLIENT_CERT}s"`, proxies that fold header lines);
 * - base64 DER (HAProxy `http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]`).
 *
 * Only the first certificate of a PEM value counts (the client's own; a chain may follow). A value
 * with a comma (several header lines, joined) is none of these.
 * Trust such a header only when the proxy overwrites it on every request (see
 * `trustedCertificateHeader` and `trustedProxies`).
 */
export function parseForwardedCertificate(value: string): Buffer | undefined {
  if (typeof value !== 'string' || value.length > MAX_FORWARDED_LENGTH) return undefined;
  let v = value.trim();
  // No form contains a comma: one means several header lines joined (node, fetch Headers), i.e. not one certificate.
  if (v.includes(',')) return undefined;
  // RFC 9440 §2.2: Client-Cert is an sf-binary, ":" base64 ":" (RFC 8941 §3.3.5).
  if (v.length > 2 && v.startsWith(':') && v.endsWith(':')) return strictBase64(v.slice(1, -1));
  if (v.includes('%')) {
    try {
      v = decodeURIComponent(v).trim();
    } catch {
      return undefined;
    }
  }
  if (v.startsWith('-----BEGIN')) {
    const m = PEM.exec(v);
    return m === null ? undefined : strictBase64(m[1]!.replace(/\s+/g, ''));
  }
  return strictBase64(v);
}
