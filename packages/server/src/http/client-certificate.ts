import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { parseCertificateHeader } from '../shared/client-certificate.js';
import type { ClientCertificate } from '../shared/oauth-request.js';
import type { ProxyTrust } from './trusted-proxy.js';

/** The client certificate of a request (RFC 8705), or undefined. */
export type CertificateReader = (req: IncomingMessage) => ClientCertificate | undefined;

/** A proxy-forwarded certificate counts as CA-issued only if we can verify it ourselves against `tlsCa`. */
function issuedByTrustedCa(cert: X509Certificate, cas: readonly X509Certificate[]): boolean {
  const now = Date.now();
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) return false;
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/**
 * Where client certificates come from, or undefined when this listener cannot receive any (plain HTTP
 * without a certificate header: the OAuth handler then skips the lookup):
 * - from a trusted proxy (`trustProxy` + `clientCertificateHeader`): the header only — never the
 *   socket's own certificate, which would be the proxy's; chain verified by us against `clientCa`;
 * - otherwise from our TLS listener (`getPeerX509Certificate()`, once per socket); the chain counts as
 *   verified when the TLS stack verified it (`socket.authorized`) against a configured CA — without
 *   one Node would have used its public root store. A header sent by anyone else is ignored, so a
 *   client cannot claim a certificate (and the identity or binding that comes with it) by sending it.
 */
export function certificateReader(o: {
  tls: boolean;
  header: string | undefined;
  proxy: ProxyTrust;
  clientCa: readonly X509Certificate[];
}): CertificateReader | undefined {
  const headerName = o.header?.toLowerCase();
  if (!o.tls && !headerName) return undefined;
  const cas = o.clientCa;
  const perSocket = new WeakMap<TLSSocket, ClientCertificate | null>();
  return (req) => {
    const socket = req.socket as TLSSocket;
    if (headerName && o.proxy.trusts(socket.remoteAddress)) {
      const h = req.headers[headerName];
      if (typeof h !== 'string') return undefined;
      const certificate = parseCertificateHeader(h);
      return certificate ? { certificate, chainVerified: cas.length > 0 && issuedByTrustedCa(certificate, cas) } : undefined;
    }
    if (!o.tls || !socket.encrypted) return undefined;
    let known = perSocket.get(socket);
    if (known === undefined) {
      const peer = socket.getPeerX509Certificate();
      known = peer ? { certificate: peer, chainVerified: cas.length > 0 && socket.authorized } : null;
      perSocket.set(socket, known);
    }
    return known ?? undefined;
  };
}
