import { formatIp, inPrefix, nonPublicReason, parseIp, unmapIp } from './ip-address.js';

/** Why an outbound fetch was refused or failed. Logged only: callers answer with their usual error. */
export type OutboundErrorCode =
  | 'ERR_OUTBOUND_URL_REFUSED'
  | 'ERR_OUTBOUND_ADDRESS_REFUSED'
  | 'ERR_OUTBOUND_UNREACHABLE'
  | 'ERR_OUTBOUND_HTTP_STATUS'
  | 'ERR_OUTBOUND_TOO_LARGE'
  | 'ERR_OUTBOUND_NOT_JSON';

export class OutboundError extends Error {
  constructor(readonly code: OutboundErrorCode, message: string) {
    super(message);
    this.name = 'OutboundError';
  }
}

/** Thrown by {@link OutboundPolicy} construction for a malformed `outboundAllow` entry. */
export class OutboundAllowError extends Error {
  constructor(readonly entry: string, message: string) {
    super(message);
    this.name = 'OutboundAllowError';
  }
}

export interface OutboundPolicyOptions {
  /** Latchkey's issuer: plain http is allowed only while it is a loopback (development) URL. */
  readonly issuer: string;
  /** Operator exceptions (`outboundAllow`): CIDRs (`10.0.0.0/8`, `fd00::/8`), single addresses, host names (`jwks.internal`, `*.corp.example`). */
  readonly allow?: readonly string[];
}

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/;
const LOOPBACK_ISSUER = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
export const MAX_OUTBOUND_URL_LENGTH = 2048;

/**
 * The outbound fetch policy (SPEC §8), built once from configuration and shared by every outbound
 * fetch: a client's `jwks_uri`, a trusted issuer's discovery document and JWKS.
 *
 * - {@link checkUrl}: what a URL may look like — checked at registration (any path) and again before
 *   every fetch: `https:` (plain `http:` only while the issuer is loopback), no userinfo, and an
 *   IP-literal or `localhost` host only when it is public or allowed.
 * - {@link addressRefusal}: whether an address may be connected to — called on every address DNS
 *   returns and on the socket's actual peer (./fetch-json.ts).
 *
 * Does not check: where a host name resolves at registration time (DNS can change; the check that
 * counts is the one at connect).
 */
export class OutboundPolicy {
  readonly #cidrs: { net: Uint8Array; prefix: number }[] = [];
  readonly #hosts = new Set<string>();
  readonly #suffixes: string[] = [];
  readonly #httpAllowed: boolean;

  constructor(opts: OutboundPolicyOptions) {
    let issuerHost = '';
    try {
      issuerHost = new URL(opts.issuer).hostname;
    } catch {
      // An unparseable issuer never reaches here (config validates it); treat it as non-loopback.
    }
    this.#httpAllowed = LOOPBACK_ISSUER.test(issuerHost);
    for (const raw of opts.allow ?? []) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      const slash = entry.indexOf('/');
      const ipPart = slash >= 0 ? entry.slice(0, slash) : entry;
      const ip = parseIp(ipPart);
      if (ip) {
        const max = ip.length * 8;
        const prefix = slash >= 0 ? Number(entry.slice(slash + 1)) : max;
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d{1,3}$/.test(entry.slice(slash + 1)))) {
          throw new OutboundAllowError(raw, `"${raw}" is not a CIDR (prefix length 0–${max})`);
        }
        this.#cidrs.push({ net: ip, prefix });
      } else if (slash < 0 && HOST_NAME.test(entry)) {
        const name = entry.replace(/\.$/, '');
        if (name.startsWith('*.')) this.#suffixes.push(name.slice(1));
        else this.#hosts.add(name);
      } else {
        throw new OutboundAllowError(raw, `"${raw}" is neither a CIDR, an IP address nor a host name`);
      }
    }
  }

  /** Whether the operator allowed this host name (exact, or a `*.suffix` entry). */
  hostAllowed(hostname: string): boolean {
    const h = hostname.toLowerCase().replace(/\.$/, '');
    if (this.#hosts.has(h)) return true;
    return this.#suffixes.some((s) => h.endsWith(s) && h.length > s.length);
  }

  /**
   * Why connecting to `address` (reached through `hostname`) is refused, or undefined when it is
   * allowed: a public unicast address, an address in an allowed CIDR, or any address of an allowed host.
   */
  addressRefusal(address: string, hostname: string): string | undefined {
    if (this.hostAllowed(hostname)) return undefined;
    const ip = parseIp(address);
    if (!ip) return `not an IP address: ${address}`;
    const why = nonPublicReason(ip);
    if (why === undefined) return undefined;
    const plain = unmapIp(ip);
    for (const c of this.#cidrs) if (inPrefix(plain, c.net, c.prefix) || inPrefix(ip, c.net, c.prefix)) return undefined;
    return `${formatIp(ip)} is ${why} (allow it with outboundAllow)`;
  }

  /**
   * A URL this policy lets a fetch start with, or why not. The WHATWG URL parser has already turned
   * decimal, hex, octal and short IPv4 forms (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) into
   * dotted quads, so the IP check below sees the address a connection would use.
   */
  urlProblem(raw: string): string | undefined {
    if (raw.length > MAX_OUTBOUND_URL_LENGTH) return `longer than ${MAX_OUTBOUND_URL_LENGTH} characters`;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return 'not an absolute URL';
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && this.#httpAllowed)) {
      return this.#httpAllowed ? 'must be an https:// or http:// URL' : 'must be an https:// URL (http:// only while the issuer is a loopback URL)';
    }
    if (u.username !== '' || u.password !== '') return 'must not contain user information';
    if (u.hash !== '') return 'must not contain a fragment';
    const host = u.hostname;
    if (host === '') return 'has no host';
    if (this.hostAllowed(host)) return undefined;
    if (parseIp(host)) {
      const why = this.addressRefusal(host, host);
      return why === undefined ? undefined : `host ${why}`;
    }
    const name = host.toLowerCase().replace(/\.$/, '');
    // RFC 6761 §6.3: "localhost." names resolve to loopback; .internal/.local are private by definition.
    if (name === 'localhost' || name.endsWith('.localhost')) return 'host localhost is loopback (allow it with outboundAllow)';
    return undefined;
  }

  /** Throws OutboundError ERR_OUTBOUND_URL_REFUSED unless {@link urlProblem} finds nothing. */
  checkUrl(raw: string): URL {
    const why = this.urlProblem(raw);
    if (why !== undefined) throw new OutboundError('ERR_OUTBOUND_URL_REFUSED', `URL refused: ${why}`);
    return new URL(raw);
  }
}
