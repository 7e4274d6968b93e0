import { X509Certificate } from 'node:crypto';

/**
 * Parses a proxy's client-certificate header: RFC 9440 `Client-Cert` (`:base64-DER:`), a URL-encoded
 * PEM (nginx `$ssl_client_escaped_cert`, AWS ALB), or bare base64 DER. Undefined when unparsable.
 */
export function parseCertificateHeader(value: string): X509Certificate | undefined {
  let v = value.trim();
  if (v.length === 0 || v.length > 16_384) return undefined;
  try {
    if (v.startsWith(':') && v.endsWith(':') && v.length > 2) return new X509Certificate(Buffer.from(v.slice(1, -1), 'base64'));
    if (v.includes('%')) v = decodeURIComponent(v);
    if (v.includes('-----BEGIN CERTIFICATE-----')) return new X509Certificate(v);
    return new X509Certificate(Buffer.from(v.replace(/\s+/g, ''), 'base64'));
  } catch {
    return undefined;
  }
}

/** Every certificate in a PEM bundle (e.g. the `tlsCa` file); throws on a malformed certificate. */
export function certificatesFromPem(pem: string | Buffer): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}
