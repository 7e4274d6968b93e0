import { createHash, type X509Certificate } from 'node:crypto';
import { invalidRequest } from '../shared/errors.js';
import type { Binder } from './binding.js';

/** RFC 8705 §3.1: base64url(SHA-256(DER certificate)), the `x5t#S256` confirmation value. */
export function certificateThumbprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('base64url');
}

/**
 * Certificate-bound access tokens (RFC 8705 §3): a request with a client certificate (our TLS listener
 * or a trusted proxy) gets `cnf["x5t#S256"]`; a client registered with
 * `tls_client_certificate_bound_access_tokens: true` must present one (RFC 8705 §3.4) → 400 invalid_request.
 * `receivable`: whether this node can receive client certificates at all (advertised in metadata).
 */
export function certificateBinder(o: { receivable: boolean }): Binder<'mtls'> {
  return {
    kind: 'mtls',
    metadata: o.receivable ? { tls_client_certificate_bound_access_tokens: true } : {},
    async bind(req, subject) {
      const cert = req.clientCertificate;
      if (cert) return { cnf: { 'x5t#S256': subject.certificateThumbprint ?? certificateThumbprint(cert.certificate) }, tokenType: 'Bearer' };
      if (subject.client.record.extra.tls_client_certificate_bound_access_tokens === true) {
        throw invalidRequest('this client must present a TLS client certificate (tls_client_certificate_bound_access_tokens)');
      }
      return undefined;
    },
  };
}
