import { isIPv4, isIPv6 } from 'node:net';
import { AddressError } from './errors';
import { ipv4ToUint32, uint32ToIpv4 } from './ipv4';
import { foldIpv6, formatIpv6, ipv6Words, parseIpv6, type Ipv6Pair } from './ipv6';

/**
 * An address or prefix, IPv4 or IPv6, as a VIP or a network is written in the configuration
 * ('10.0.0.100', '10.0.2.0/24', 'fd00::100', 'fd00:1::/64'). One parser for config validation, flows and
 * the packet-in lookup, so '10.0.0.100' and '10.0.0.100/32' are the same VIP everywhere.
 */
export interface IpPrefix {
  family: 4 | 6;
  /** The network address in canonical text (RFC 5952 for IPv6). */
  address: string;
  /** Prefix length: 32 (IPv4) or 128 (IPv6) for a single address. */
  length: number;
  /** Canonical text: the address alone for a single address, else address/length. */
  text: string;
  /** IPv4 only: network and mask as numbers (addr is inside when (addr & mask) >>> 0 === base). */
  base: number;
  mask: number;
  /** IPv6 only: the network's 16 bytes (host bits zero). */
  bytes?: Uint8Array;
  /**
   * IPv6 only: the network's four 32-bit words, then each word's mask (8 words), so the packet-in path's
   * containsIpv6Words compares words instead of rebuilding them from bytes per packet.
   */
  words?: Uint32Array;
  /**
   * IPv6 only: the network's fold (foldIpv6 of its words). An address of a single-address VIP (length 128) has this
   * fold, so the packet-in's lookup6 passes over the other VIPs of a port with one compare each.
   */
  fold?: number;
}

/** Whether the prefix is one address (/32, /128): a host VIP rather than a range. */
export function isSingleAddress(prefix: Pick<IpPrefix, 'family' | 'length'>): boolean {
  return prefix.length === (prefix.family === 4 ? 32 : 128);
}

export function ipv4Mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/**
 * Parses an address or prefix. A prefix with host bits set is refused (almost always a typo), naming the
 * network that was probably meant.
 */
export function parsePrefix(text: string): IpPrefix {
  if (typeof text !== 'string' || text.length > 64) throw new AddressError('prefix', `expected an IP address or prefix, got ${JSON.stringify(text)}`);
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  if (isIPv4(addr)) {
    const length = prefixLength(lenText, 32, text);
    const value = ipv4ToUint32(addr);
    const mask = ipv4Mask(length);
    const base = (value & mask) >>> 0;
    if (base !== value) throw new AddressError('prefix', `${text}: host bits are set; the network is ${uint32ToIpv4(base)}/${length}`);
    const address = uint32ToIpv4(base);
    return { family: 4, address, length, text: length === 32 ? address : `${address}/${length}`, base, mask };
  }
  if (isIPv6(addr) && !addr.includes('%')) {
    const length = prefixLength(lenText, 128, text);
    const bytes = parseIpv6(addr);
    const network = bytes.slice();
    for (let bit = length; bit < 128; bit++) network[bit >> 3] &= ~(0x80 >> (bit & 7));
    const address = formatIpv6(network);
    if (formatIpv6(bytes) !== address) throw new AddressError('prefix', `${text}: host bits are set; the network is ${address}/${length}`);
    const words = new Uint32Array(8);
    ipv6Words(network, 0, words);
    for (let i = 0; i < 4; i++) words[4 + i] = ipv4Mask(Math.min(32, Math.max(0, length - 32 * i)));
    return {
      family: 6, address, length, text: length === 128 ? address : `${address}/${length}`, base: 0, mask: 0, bytes: network, words,
      fold: foldIpv6(words, 0),
    };
  }
  throw new AddressError('prefix', `${JSON.stringify(addr)} is not an IPv4 or IPv6 address`);
}

function prefixLength(lenText: string | undefined, max: number, text: string): number {
  if (lenText === undefined) return max;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) throw new AddressError('prefix', `${text}: prefix length ${JSON.stringify(lenText)} is not 0..${max}`);
  return Number(lenText);
}

/** Whether an IPv4 address (as a number) is inside an IPv4 prefix. */
export function containsIpv4(prefix: IpPrefix, addr: number): boolean {
  return prefix.family === 4 && ((addr & prefix.mask) >>> 0) === prefix.base;
}

/** Whether two prefixes share any address (one contains the other). */
export function overlaps(a: IpPrefix, b: IpPrefix): boolean {
  if (a.family !== b.family) return false;
  const length = Math.min(a.length, b.length);
  if (a.family === 4) return ((a.base & ipv4Mask(length)) >>> 0) === ((b.base & ipv4Mask(length)) >>> 0);
  for (let bit = 0; bit < length; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a.bytes![bit >> 3] & m) !== (b.bytes![bit >> 3] & m)) return false;
  }
  return true;
}

/** containsIpv6Words of an address pair's destination (d0..d3). */
export function containsIpv6Destination(prefix: IpPrefix, p: Ipv6Pair): boolean {
  const net = prefix.words;
  if (prefix.family !== 6 || net === undefined) return false;
  return ((p.d0 & net[4]) >>> 0) === net[0] && ((p.d1 & net[5]) >>> 0) === net[1] && ((p.d2 & net[6]) >>> 0) === net[2]
    && ((p.d3 & net[7]) >>> 0) === net[3];
}

/** Whether an IPv6 address, as four 32-bit words from `at` (net/ipv6Words), is inside an IPv6 prefix. */
export function containsIpv6Words(prefix: IpPrefix, words: ArrayLike<number>, at = 0): boolean {
  const net = prefix.words;
  if (prefix.family !== 6 || net === undefined) return false;
  // A mask word of 0 (past the prefix length) lets every value through, as the network word there is 0.
  for (let i = 0; i < 4; i++) if (((words[at + i] & net[4 + i]) >>> 0) !== net[i]) return false;
  return true;
}
