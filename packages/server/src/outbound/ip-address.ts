import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP address parsing and classification for the outbound fetch policy (SPEC §8). Pure functions, no
 * I/O: the policy (./policy.ts) calls them on IP-literal URL hosts and on every address DNS returns.
 */

/** 4 bytes (IPv4) or 16 bytes (IPv6); undefined when `s` is not an IP address in standard notation. */
export function parseIp(s: string): Uint8Array | undefined {
  let t = s;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  // A zone index (fe80::1%eth0) names an interface, not a different address.
  const pct = t.indexOf('%');
  if (pct >= 0) t = t.slice(0, pct);
  if (isIPv4(t)) return new Uint8Array(t.split('.').map(Number));
  if (!isIPv6(t)) return undefined;
  const out = new Uint8Array(16);
  let head = t;
  let tailV4: Uint8Array | undefined;
  const lastColon = head.lastIndexOf(':');
  if (head.slice(lastColon + 1).includes('.')) {
    tailV4 = new Uint8Array(head.slice(lastColon + 1).split('.').map(Number));
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head, undefined];
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups = right === undefined ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  if (groups.length !== 8) return undefined;
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** Dotted/colon text of a parsed address (for logs and messages). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return g.join(':');
}

/** Whether `addr` lies in `net`/`prefix` (both the same family). */
export function inPrefix(addr: Uint8Array, net: Uint8Array, prefix: number): boolean {
  if (addr.length !== net.length) return false;
  let bits = prefix;
  for (let i = 0; i < addr.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

interface Range {
  net: Uint8Array;
  prefix: number;
  why: string;
}

const range = (cidr: string, why: string): Range => {
  const [ip, p] = cidr.split('/') as [string, string];
  return { net: parseIp(ip)!, prefix: Number(p), why };
};

/** IPv4 ranges a server-side fetch must not reach (RFC 6890 special-purpose registry, the non-global ones). */
const V4_BLOCKED: readonly Range[] = [
  range('0.0.0.0/8', 'unspecified ("this network", RFC 1122)'),
  range('10.0.0.0/8', 'private (RFC 1918)'),
  range('100.64.0.0/10', 'shared address space / CGNAT (RFC 6598)'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local (RFC 3927; cloud metadata services)'),
  range('172.16.0.0/12', 'private (RFC 1918)'),
  range('192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'),
  range('192.0.2.0/24', 'documentation (RFC 5737)'),
  range('192.88.99.0/24', '6to4 relay anycast (RFC 7526)'),
  range('192.168.0.0/16', 'private (RFC 1918)'),
  range('198.18.0.0/15', 'benchmarking (RFC 2544)'),
  range('198.51.100.0/24', 'documentation (RFC 5737)'),
  range('203.0.113.0/24', 'documentation (RFC 5737)'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved / broadcast'),
];

const V6_BLOCKED: readonly Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('64:ff9b:1::/48', 'local-use IPv4/IPv6 translation (RFC 8215)'),
  range('100::/64', 'discard-only (RFC 6666)'),
  range('2001::/32', 'Teredo (RFC 4380; embeds an IPv4 address)'),
  range('2001:db8::/32', 'documentation (RFC 3849)'),
  range('fc00::/7', 'unique local (ULA, RFC 4193)'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local (deprecated, RFC 3879)'),
  range('ff00::/8', 'multicast'),
];

/** IPv6 forms that carry an IPv4 address: the embedded address is what a connection may end up at. */
const V6_EMBEDDING: readonly { net: Uint8Array; prefix: number; offset: number; why: string }[] = [
  { ...range('::ffff:0:0/96', ''), offset: 12, why: 'IPv4-mapped' },
  { ...range('::/96', ''), offset: 12, why: 'IPv4-compatible' },
  { ...range('64:ff9b::/96', ''), offset: 12, why: 'NAT64 (RFC 6052)' },
  { ...range('2002::/16', ''), offset: 2, why: '6to4 (RFC 3056)' },
];

/**
 * Why `addr` is not a public unicast address, or undefined when it is. IPv4-mapped, IPv4-compatible,
 * NAT64 and 6to4 IPv6 forms are judged by the IPv4 address they embed.
 */
export function nonPublicReason(addr: Uint8Array): string | undefined {
  if (addr.length === 4) {
    for (const r of V4_BLOCKED) if (inPrefix(addr, r.net, r.prefix)) return r.why;
    return undefined;
  }
  // ::/128 and ::1/128 fall inside ::/96 (IPv4-compatible); judge them as themselves first.
  for (const r of V6_BLOCKED) if (inPrefix(addr, r.net, r.prefix)) return r.why;
  for (const e of V6_EMBEDDING) {
    if (inPrefix(addr, e.net, e.prefix)) {
      const v4 = addr.slice(e.offset, e.offset + 4);
      const inner = nonPublicReason(v4);
      return inner === undefined ? undefined : `${e.why} form of ${formatIp(v4)}: ${inner}`;
    }
  }
  return undefined;
}

/** The IPv4 address an IPv4-mapped IPv6 address stands for (so `10.0.0.0/8` in an allow list matches `::ffff:10.1.2.3`). */
export function unmapIp(addr: Uint8Array): Uint8Array {
  if (addr.length === 16 && inPrefix(addr, V6_EMBEDDING[0]!.net, 96)) return addr.slice(12);
  return addr;
}
