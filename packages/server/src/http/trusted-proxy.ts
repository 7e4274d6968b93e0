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
