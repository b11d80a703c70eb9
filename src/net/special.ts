import { ipv4ToUint32 } from './ipv4';
import { parsePrefix, overlaps, type IpPrefix } from './prefix';

/** IPv4 blocks that hold no host's unicast address: a VIP or backend there cannot work (RFC 1122, 5771, 1112). */
const SPECIAL_BLOCKS: ReadonlyArray<{ first: number; last: number; what: string; block: string }> = [
  { first: 0x00000000, last: 0x00ffffff, what: 'in 0.0.0.0/8 ("this network"), not a host address', block: '0.0.0.0/8 ("this network")' },
  { first: 0x7f000000, last: 0x7fffffff, what: 'a loopback address (127.0.0.0/8)', block: 'loopback 127.0.0.0/8' },
  { first: 0xe0000000, last: 0xefffffff, what: 'a multicast address (224.0.0.0/4)', block: 'multicast 224.0.0.0/4' },
  { first: 0xffffffff, last: 0xffffffff, what: 'the broadcast address', block: 'the broadcast address' },
  { first: 0xf0000000, last: 0xfffffffe, what: 'reserved (240.0.0.0/4)', block: 'reserved 240.0.0.0/4' },
];

/**
 * IPv6 blocks whose addresses cannot be a VIP or a backend's address (RFC 4291 section 2.5, 2.7): link-local
 * addresses are only meaningful with a zone (an interface), which a VIP or a NAT target has not; an IPv4-mapped
 * address names an IPv4 host (vadc does not translate between families).
 */
const SPECIAL_BLOCKS6: ReadonlyArray<{ prefix: IpPrefix; what: string; block: string }> = [
  { prefix: parsePrefix('::/128'), what: 'the unspecified address ::', block: 'the unspecified address ::' },
  { prefix: parsePrefix('::1/128'), what: 'the loopback address ::1', block: 'the loopback address ::1' },
  { prefix: parsePrefix('::ffff:0:0/96'), what: 'an IPv4-mapped address (::ffff:0:0/96)', block: 'IPv4-mapped ::ffff:0:0/96' },
  { prefix: parsePrefix('fe80::/10'), what: 'a link-local address (fe80::/10), which needs a zone', block: 'link-local fe80::/10' },
  { prefix: parsePrefix('ff00::/8'), what: 'a multicast address (ff00::/8)', block: 'multicast ff00::/8' },
];

/** Why an IPv4 or IPv6 address cannot be a VIP or a backend's address, or undefined for an ordinary unicast address. */
export function notUnicastReason(addr: string): string | undefined {
  if (addr.includes(':')) {
    const prefix = parsePrefix(addr);
    const block = SPECIAL_BLOCKS6.find((b) => overlaps(b.prefix, prefix));
    return block && `${prefix.address} is ${block.what}`;
  }
  const value = ipv4ToUint32(addr);
  const block = SPECIAL_BLOCKS.find((b) => value >= b.first && value <= b.last);
  return block && `${addr} is ${block.what}`;
}

/** Why a prefix cannot be a VIP (it reaches into one of those blocks), or undefined. */
export function prefixOverlapReason(prefix: IpPrefix): string | undefined {
  if (prefix.family === 6) {
    const block = SPECIAL_BLOCKS6.find((b) => overlaps(b.prefix, prefix));
    return block && `${prefix.text} reaches into ${block.block}`;
  }
  const first = prefix.base;
  const last = (first + 2 ** (32 - prefix.length) - 1) >>> 0;
  const block = SPECIAL_BLOCKS.find((b) => first <= b.last && last >= b.first);
  return block && `${prefix.text} reaches into ${block.block}`;
}
