/** Raw HTTP(S) requests for the HTTP-layer tests: any method, chunked bodies, client certificates, agents. */
import { request as httpRequest, type Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface Tls {
  ca: string;
  cert?: string;
  key?: string;
}

/** One request over node:http(s) (undici's fetch cannot present a client certificate or send any method). */
export function send(
  base: string,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean; tls?: Tls; agent?: HttpAgent } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const tlsOpts = o.tls ? { ca: o.tls.ca, ...(o.tls.cert ? { cert: o.tls.cert, key: o.tls.key } : {}) } : {};
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.body !== undefined && !o.chunked) headers['content-length'] = String(Buffer.byteLength(o.body));
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: o.method ?? 'GET', headers, agent: o.agent ?? false, ...tlsOpts },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.body !== undefined) {
      if (o.chunked) {
        // Several writes without a content-length: chunked transfer encoding.
        const b = Buffer.from(o.body);
        for (let i = 0; i < b.length; i += 8192) req.write(b.subarray(i, i + 8192));
      } else req.write(o.body);
    }
    req.end();
  });
}

