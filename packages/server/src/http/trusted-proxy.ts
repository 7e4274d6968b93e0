import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../config.js';

const NAMED_RANGES: Record<string, [string, number, 'ipv4' | 'ipv6'][]> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  linklocal: [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  uniquelocal: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

/** The `trustProxy` setting (addresses, CIDRs, or proxy-addr names loopback/linklocal/uniquelocal) as a BlockList. */
export function trustedPeers(trustProxy: string | undefined): BlockList | undefined {
  if (!trustProxy) return undefined;
  const list = new BlockList();
  for (const raw of trustProxy.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const named = NAMED_RANGES[item];
    if (named) {
      for (const [net, prefix, type] of named) list.addSubnet(net, prefix, type);
      continue;
    }
    const [addr, prefix] = item.split('/');
    const type = isIP(addr ?? '');
    if (type === 0) throw new ConfigError(`invalid setting "trustProxy": not an address or CIDR: ${item}`);
    const family = type === 4 ? 'ipv4' : 'ipv6';
    const bits = Number(prefix);
    if (prefix === undefined) list.addAddress(addr!, family);
    else if (/^\d{1,3}$/.test(prefix) && bits <= (type === 4 ? 32 : 128)) list.addSubnet(addr!, bits, family);
    else throw new ConfigError(`invalid setting "trustProxy": bad prefix length in ${item}`);
  }
  return list;
}

export function peerTrusted(list: BlockList | undefined, address: string | undefined): boolean {
  if (!list || !address) return false;
  // Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6 addresses.
  const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const type = isIP(a);
  if (type === 0) return false;
  return list.check(a, type === 4 ? 'ipv4' : 'ipv6');
}

/** The `trustProxy` setting, in the one form every part of the HTTP layer uses. */
export interface ProxyTrust {
  /** Whether `address` (a socket peer or an X-Forwarded-For hop) is a trusted proxy. */
  trusts(address: string | undefined): boolean;
  /**
   * The client address of a request: starting at the socket peer, walk X-Forwarded-For back (right to
   * left) while the current hop is a trusted proxy; the first untrusted hop is the client. This is
   * proxy-addr's algorithm (empty entries skipped, spaces and tabs trimmed), so the OAuth endpoints'
   * `remoteAddress` and Fastify's `req.ip` (which uses {@link fastifyTrustProxy}) agree.
   */
  clientAddress(peer: string, forwardedFor: string | string[] | undefined): string;
  /** Fastify's `trustProxy` option: the same predicate, or false when no proxy is trusted. */
  readonly fastifyTrustProxy: ((address: string, hop: number) => boolean) | false;
}

function trimHop(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

export function proxyTrust(setting: string | undefined): ProxyTrust {
  const list = trustedPeers(setting);
  if (!list) {
    return { trusts: () => false, clientAddress: (peer) => peer, fastifyTrustProxy: false };
  }
  const trusts = (address: string | undefined) => peerTrusted(list, address);
  return {
    trusts,
    clientAddress(peer, forwardedFor) {
      if (typeof forwardedFor !== 'string' || forwardedFor.length === 0 || !trusts(peer)) return peer;
      const hops = forwardedFor.split(',');
      let i = hops.length;
      let addr = peer;
      while (trusts(addr)) {
        let hop = '';
        while (hop === '' && i > 0) hop = trimHop(hops[--i]!);
        if (hop === '') break;
        addr = hop;
      }
      return addr;
    },
    fastifyTrustProxy: (address) => trusts(address),
  };
}
