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

/**
 * Reads a certificate forwarded by a TLS-terminating proxy: RFC 9440 `Client-Cert`
 * (`:base64-DER:`), or a URL-encoded PEM (nginx `$ssl_client_escaped_cert`).
 * Trust such a header only when the proxy strips it from incoming requests.
 */
export function parseForwardedCertificate(value: string): CertificateInput | undefined {
  const v = value.trim();
  if (v.startsWith(':') && v.endsWith(':') && v.length > 2) return Buffer.from(v.slice(1, -1), 'base64');
  if (v.includes('-----BEGIN')) return v;
  try {
    const decoded = decodeURIComponent(v);
    return decoded.includes('-----BEGIN') ? decoded : undefined;
  } catch {
    return undefined;
  }
}
