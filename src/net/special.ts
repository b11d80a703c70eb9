import { ipv4ToUint32 } from './ipv4';
import type { IpPrefix } from './prefix';

/** IPv4 blocks that hold no host's unicast address: a VIP or backend there cannot work (RFC 1122, 5771, 1112). */
const SPECIAL_BLOCKS: ReadonlyArray<{ first: number; last: number; what: string; block: string }> = [
  { first: 0x00000000, last: 0x00ffffff, what: 'in 0.0.0.0/8 ("this network"), not a host address', block: '0.0.0.0/8 ("this network")' },
  { first: 0x7f000000, last: 0x7fffffff, what: 'a loopback address (127.0.0.0/8)', block: 'loopback 127.0.0.0/8' },
  { first: 0xe0000000, last: 0xefffffff, what: 'a multicast address (224.0.0.0/4)', block: 'multicast 224.0.0.0/4' },
  { first: 0xffffffff, last: 0xffffffff, what: 'the broadcast address', block: 'the broadcast address' },
  { first: 0xf0000000, last: 0xfffffffe, what: 'reserved (240.0.0.0/4)', block: 'reserved 240.0.0.0/4' },
];

/** Why an IPv4 address cannot be a VIP or a backend's address, or undefined for an ordinary unicast address. */
export function notUnicastReason(addr: string): string | undefined {
  const value = ipv4ToUint32(addr);
  const block = SPECIAL_BLOCKS.find((b) => value >= b.first && value <= b.last);
  return block && `${addr} is ${block.what}`;
}

/** Why an IPv4 prefix cannot be a VIP (it reaches into one of those blocks), or undefined. */
export function prefixOverlapReason(prefix: IpPrefix): string | undefined {
  const first = prefix.base;
  const last = (first + 2 ** (32 - prefix.length) - 1) >>> 0;
  const block = SPECIAL_BLOCKS.find((b) => first <= b.last && last >= b.first);
  return block && `${prefix.text} reaches into ${block.block}`;
}
