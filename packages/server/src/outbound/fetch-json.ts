import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { parseIp } from './ip-address.js';
import { OutboundError, OutboundPolicy, type OutboundPolicyOptions } from './policy.js';

export interface FetchJsonOptions {
  /** Largest accepted body, in bytes. */
  readonly maxBytes: number;
  /** Whole request (connect, TLS, headers, body), in ms. */
  readonly timeoutMs: number;
  /** `Accept` header. */
  readonly accept?: string;
}

export interface OutboundOptions extends OutboundPolicyOptions {
  /** TCP connect timeout in ms (at most 2000, SPEC §8: a silent port must not hold a request). */
  readonly connectTimeoutMs?: number;
}

/** The one outbound HTTP client (SPEC §8). Build once ({@link createOutbound}); every fetch goes through it. */
export interface Outbound {
  readonly policy: OutboundPolicy;
  /** GET `url` and parse its JSON body; throws {@link OutboundError}. Redirects are not followed. */
  fetchJson(url: string, opts: FetchJsonOptions): Promise<unknown>;
}

export const MAX_CONNECT_TIMEOUT_MS = 2000;

/**
 * A `lookup` for node:http(s) that resolves every address of the host and refuses the connection when
 * any of them is not allowed (a name that resolves to one public and one internal address cannot be
 * used to reach the internal one).
 */
function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family ?? 0, hints: options.hints ?? 0, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      if (addresses.length === 0) return callback(new OutboundError('ERR_OUTBOUND_UNREACHABLE', `${hostname} has no address`), '', 0);
      for (const a of addresses) {
        const why = policy.addressRefusal(a.address, hostname);
        if (why !== undefined) return callback(new OutboundError('ERR_OUTBOUND_ADDRESS_REFUSED', `${hostname} resolves to ${why}`), '', 0);
      }
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/**
 * Builds the outbound client from the policy settings. `fetchJson`:
 * - checks the URL ({@link OutboundPolicy.checkUrl}); an IP-literal host is checked directly (no DNS
 *   lookup happens for it), a name through a lookup that checks every resolved address;
 * - re-checks the socket's actual peer address on connect, before a byte is sent;
 * - bounds the connect time (≤ 2 s), the whole request (`timeoutMs`) and the body (`maxBytes`);
 * - answers only 200 with a JSON body: redirects and other statuses are errors, never followed.
 * Every failure before a response (refused, reset, silent port, TLS failure, timeout) is the same
 * ERR_OUTBOUND_UNREACHABLE, so the timing and the error say no more than "could not fetch" — a
 * registered URL cannot be used to map which internal ports are open.
 */
export function createOutbound(opts: OutboundOptions): Outbound {
  const policy = new OutboundPolicy(opts);
  const connectTimeout = Math.min(opts.connectTimeoutMs ?? MAX_CONNECT_TIMEOUT_MS, MAX_CONNECT_TIMEOUT_MS);
  const lookup = guardedLookup(policy);

  async function fetchJson(url: string, fo: FetchJsonOptions): Promise<unknown> {
    const u = policy.checkUrl(url);
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    if (parseIp(host)) {
      const why = policy.addressRefusal(host, u.hostname);
      if (why !== undefined) throw new OutboundError('ERR_OUTBOUND_ADDRESS_REFUSED', why);
    }
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (err: OutboundError | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(value);
      };
      const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request({
        protocol: u.protocol,
        hostname: host,
        port: u.port === '' ? undefined : Number(u.port),
        path: `${u.pathname}${u.search}`,
        method: 'GET',
        headers: { accept: fo.accept ?? 'application/json', 'user-agent': 'latchkey' },
        // A fresh connection each time: a pooled socket would skip the connect-time address check.
        agent: false,
        lookup,
        ...(u.protocol === 'https:' && !parseIp(host) ? { servername: host } : {}),
      });
      timers.push(setTimeout(() => finish(new OutboundError('ERR_OUTBOUND_UNREACHABLE', `no response within ${fo.timeoutMs} ms`)), fo.timeoutMs));
      const connectTimer = setTimeout(() => finish(new OutboundError('ERR_OUTBOUND_UNREACHABLE', `no connection within ${connectTimeout} ms`)), connectTimeout);
      timers.push(connectTimer);
      req.on('socket', (socket: Socket) => {
        socket.once('connect', () => {
          clearTimeout(connectTimer);
          // The address actually connected to: catches anything the checks above could not see.
          const why = policy.addressRefusal(socket.remoteAddress ?? '', host);
          if (why !== undefined) finish(new OutboundError('ERR_OUTBOUND_ADDRESS_REFUSED', `connected to ${why}`));
        });
      });
      req.on('error', (e: Error) => {
        if (e instanceof OutboundError) finish(e);
        else finish(new OutboundError('ERR_OUTBOUND_UNREACHABLE', `could not fetch: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      });
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          return finish(new OutboundError('ERR_OUTBOUND_HTTP_STATUS', `answered HTTP ${res.statusCode}${res.statusCode! >= 300 && res.statusCode! < 400 ? ' (redirects are not followed)' : ''}`));
        }
        const declared = Number(res.headers['content-length'] ?? '0');
        if (declared > fo.maxBytes) return finish(new OutboundError('ERR_OUTBOUND_TOO_LARGE', `document larger than ${fo.maxBytes} bytes`));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > fo.maxBytes) finish(new OutboundError('ERR_OUTBOUND_TOO_LARGE', `document larger than ${fo.maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on('error', () => finish(new OutboundError('ERR_OUTBOUND_UNREACHABLE', 'connection lost while reading the body')));
        res.on('end', () => {
          if (settled) return;
          try {
            finish(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            finish(new OutboundError('ERR_OUTBOUND_NOT_JSON', 'the document is not JSON'));
          }
        });
      });
      req.end();
    });
  }

  return { policy, fetchJson };
}
