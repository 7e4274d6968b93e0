import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import { ConfigError, describeSetting, type Config } from '../../config.js';

/**
 * Checks `latchkey start` runs before it opens the store or forks a worker, so an operator's mistake
 * ends with one line naming the setting and a non-zero exit, and leaves nothing behind (no store, no
 * key-encryption key, no crash-looping workers).
 */

/** A bind/listen failure the operator must fix (exit 1; the message names the address and the setting). */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

function read(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new ConfigError(`invalid setting ${describeSetting(setting)}: cannot read ${path}: ${why}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** First line of an OpenSSL/Node error, without the library prefix noise. */
const short = (e: unknown) => String((e as Error)?.message ?? e).split('\n', 1)[0]!.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '');

/**
 * The TLS files of `tlsCert`/`tlsKey`/`tlsCa`: readable, PEM of the right kind, the key belongs to the
 * certificate, and together they make a TLS context. Throws ConfigError naming the setting and path.
 */
export function checkTlsFiles(c: Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsCa'>): void {
  if (!c.tlsCert || !c.tlsKey) return;
  const certPem = read(c.tlsCert, 'tlsCert');
  const keyPem = read(c.tlsKey, 'tlsKey');
  const certBlocks = certPem.toString('utf8').match(PEM_CERT) ?? [];
  if (certBlocks.length === 0) throw new ConfigError(`invalid setting ${describeSetting('tlsCert')}: ${c.tlsCert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certBlocks[0]!);
  } catch (e) {
    throw new ConfigError(`invalid setting ${describeSetting('tlsCert')}: ${c.tlsCert}: not a valid certificate (${short(e)})`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new ConfigError(`invalid setting ${describeSetting('tlsKey')}: ${c.tlsKey} is not a PEM private key (${short(e)})`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new ConfigError(`invalid setting ${describeSetting('tlsKey')}: the key in ${c.tlsKey} does not belong to the certificate in ${c.tlsCert}`);
  }
  let caPem: Buffer | undefined;
  if (c.tlsCa) {
    caPem = read(c.tlsCa, 'tlsCa');
    const blocks = caPem.toString('utf8').match(PEM_CERT) ?? [];
    if (blocks.length === 0) throw new ConfigError(`invalid setting ${describeSetting('tlsCa')}: ${c.tlsCa} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    for (const b of blocks) {
      try {
        new X509Certificate(b);
      } catch (e) {
        throw new ConfigError(`invalid setting ${describeSetting('tlsCa')}: ${c.tlsCa}: not a valid certificate (${short(e)})`);
      }
    }
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem, ...(caPem ? { ca: caPem } : {}), minVersion: 'TLSv1.2' });
  } catch (e) {
    throw new ConfigError(`invalid setting ${describeSetting('tlsCert')}: ${c.tlsCert} with ${c.tlsKey}: ${short(e)}`);
  }
}

/**
 * Listens on host:port once and closes again: the address is free and ours to bind. Port 0 resolves to
 * the port the system picked (not reused: the caller only uses this as a check).
 */
export function checkListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    srv.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE'
          ? `port ${port} is already in use on ${host} (another process listens there; choose another with ${describeSetting('port')})`
          : e.code === 'EACCES'
            ? `not allowed to listen on port ${port} (ports below 1024 need privileges; choose another with ${describeSetting('port')})`
            : e.code === 'EADDRNOTAVAIL'
              ? `address ${host} is not an address of this machine (${describeSetting('host')})`
              : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
                ? `host ${host} does not resolve (${describeSetting('host')})`
                : `${e.code ?? e.message} (${describeSetting('host')} / ${describeSetting('port')})`;
      reject(new ListenError(`cannot listen on ${where}: ${why}`));
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve()));
  });
}
