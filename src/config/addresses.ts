import { isIPv4, isIP } from 'node:net';

/** Lower-case colon-separated MAC, the form OpenFlow match values use. */
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function isMac(text: string): boolean {
  return MAC_RE.test(text);
}

/** A MAC with the group (multicast) bit set cannot be a VIP's or a host's own address. */
export function isUnicastMac(text: string): boolean {
  return isMac(text) && (parseInt(text.slice(0, 2), 16) & 1) === 0;
}

export interface Ipv4Prefix {
  /** Network address with host bits cleared. */
  network: string;
  length: number;
}

/** Parses `a.b.c.d/len` (0..32). A prefix with host bits set is rejected: it is almost always a typo. */
export function parseIpv4Prefix(text: string): Ipv4Prefix | { error: string } {
  const slash = text.indexOf('/');
  if (slash < 0) return { error: 'expected a.b.c.d/len' };
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!isIPv4(addr)) return { error: `"${addr}" is not an IPv4 address` };
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) return { error: `prefix length "${lenText}" is not 0..32` };
  const length = Number(lenText);
  const value = ipv4ToNumber(addr);
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  if ((value & ~mask) >>> 0 !== 0) return { error: `host bits are set; the network is ${numberToIpv4((value & mask) >>> 0)}/${length}` };
  return { network: addr, length };
}

/** IPv4 blocks that hold no host's unicast address: a VIP or backend there cannot work (RFC 1122, 5771, 1112). */
const SPECIAL_BLOCKS: ReadonlyArray<{ first: number; last: number; what: string; block: string }> = [
  { first: 0x00000000, last: 0x00ffffff, what: 'in 0.0.0.0/8 ("this network"), not a host address', block: '0.0.0.0/8 ("this network")' },
  { first: 0x7f000000, last: 0x7fffffff, what: 'a loopback address (127.0.0.0/8)', block: 'loopback 127.0.0.0/8' },
  { first: 0xe0000000, last: 0xefffffff, what: 'a multicast address (224.0.0.0/4)', block: 'multicast 224.0.0.0/4' },
  { first: 0xffffffff, last: 0xffffffff, what: 'the broadcast address', block: 'the broadcast address' },
  { first: 0xf0000000, last: 0xfffffffe, what: 'reserved (240.0.0.0/4)', block: 'reserved 240.0.0.0/4' },
];

/** Why an address cannot be a VIP or a backend's address, or undefined for an ordinary unicast address. */
export function notUnicastReason(addr: string): string | undefined {
  const value = ipv4ToNumber(addr);
  const block = SPECIAL_BLOCKS.find((b) => value >= b.first && value <= b.last);
  return block && `${addr} is ${block.what}`;
}

/** Why a VIP prefix cannot be used (it reaches into one of those blocks), or undefined. */
export function prefixOverlapReason(prefix: Ipv4Prefix): string | undefined {
  const first = ipv4ToNumber(prefix.network);
  const last = (first + 2 ** (32 - prefix.length) - 1) >>> 0;
  const block = SPECIAL_BLOCKS.find((b) => first <= b.last && last >= b.first);
  return block && `${prefix.network}/${prefix.length} reaches into ${block.block}`;
}

export function ipv4ToNumber(addr: string): number {
  return addr.split('.').reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

/**
 * The VIP's default MAC: 02:00 followed by the four IPv4 bytes. 0x02 in the first octet sets the
 * locally-administered bit and clears the multicast bit, so it never collides with a vendor-assigned
 * NIC address, and the same VIP always gets the same MAC across restarts (clients' ARP caches stay valid).
 * For a prefix VIP the network address is used.
 */
export function deriveVipMac(vip: string): string {
  const addr = vip.includes('/') ? vip.slice(0, vip.indexOf('/')) : vip;
  const bytes = addr.split('.').map((o) => Number(o).toString(16).padStart(2, '0'));
  return ['02', '00', ...bytes].join(':');
}

export type Target =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp' | 'ssl'; host: string; port: number };

/**
 * Parses OVS-style connection targets: `unix:/path`, `tcp:HOST:PORT`, `ssl:HOST:PORT`
 * (an IPv6 host is written in brackets, `tcp:[::1]:6653`). Port 0 means "any free port" for listeners.
 */
export function parseTarget(text: string, kinds: ReadonlyArray<Target['kind']>): Target | { error: string } {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  if (!(kinds as string[]).includes(kind)) {
    return { error: `expected ${kinds.map((k) => (k === 'unix' ? 'unix:PATH' : `${k}:HOST:PORT`)).join(' or ')}, got "${text}"` };
  }
  const rest = text.slice(colon + 1);
  if (kind === 'unix') {
    if (!rest.startsWith('/')) return { error: `expected an absolute socket path after "unix:", got "${rest}"` };
    return { kind: 'unix', path: rest };
  }
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(rest);
  if (!m) return { error: `expected ${kind}:HOST:PORT, got "${text}"` };
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  if (m[1].startsWith('[') && isIP(host) !== 6) return { error: `"${host}" is not an IPv6 address` };
  if (!m[1].startsWith('[') && !isIPv4(host) && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host)) {
    return { error: `"${host}" is neither an IPv4 address nor a host name` };
  }
  const port = Number(m[2]);
  if (port > 65535) return { error: `port ${port} is out of range 0..65535` };
  return { kind: kind as 'tcp' | 'ssl', host, port };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}
