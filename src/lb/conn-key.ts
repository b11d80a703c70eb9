// A connection's key: the 5-tuple as numbers (IPv6 addresses as words), to and from address text, and the
// connection table's hashes of it (src/lb/conn-table.ts).
import { LbInputError } from './errors';
import { ipv4ToUint32, uint32ToIpv4 } from '../net/ipv4';
import { foldIpv6, formatIpv6Words, ipv6Words, parseIpv6 } from '../net/ipv6';

/** A connection's identity as the client sees it (IPv4 addresses as uint32). */
export interface ConnKey {
  proto: number;
  clientIp: number;
  clientPort: number;
  vip: number;
  vipPort: number;
  /**
   * IPv6 connections only: the client's then the VIP's four address words (net/ipv6Words); clientIp and vip then
   * hold each address's IPVS fold (net/foldIpv6). Absent for IPv4, which costs the IPv4 path one check.
   */
  ip6?: Uint32Array;
}

/**
 * A key from address text, IPv4 or IPv6 (e.g. read back from a flow or the tracker's listing). Both addresses must
 * be of one family: vadc does not translate between them.
 */
export function connKeyFromText(proto: number, client: string, clientPort: number, vip: string, vipPort: number): ConnKey {
  const v6 = client.includes(':');
  if (v6 !== vip.includes(':')) throw new LbInputError('conn', `client ${client} and VIP ${vip} are of different address families`);
  if (!v6) return { proto, clientIp: ipv4ToUint32(client), clientPort, vip: ipv4ToUint32(vip), vipPort };
  const ip6 = new Uint32Array(8);
  ipv6Words(parseIpv6(client), 0, ip6.subarray(0, 4));
  ipv6Words(parseIpv6(vip), 0, ip6.subarray(4, 8));
  return { proto, clientIp: foldIpv6(ip6, 0), clientPort, vip: foldIpv6(ip6, 4), vipPort, ip6 };
}

/**
 * One connection's identity as text (client side and VIP side), for matching keys across sources (the tracker's
 * listing, refusals). An IPv6 connection is keyed by its eight address words (its folds alone could collide).
 */
export function connKeyText(k: ConnKey): string {
  return k.ip6 === undefined
    ? `${k.proto}/${k.clientIp}/${k.clientPort}/${k.vip}/${k.vipPort}`
    : `${k.proto}/${k.ip6.join('.')}/${k.clientPort}/${k.vipPort}`;
}

/** A key's client and VIP addresses as text (RFC 5952 for IPv6). */
export function connAddresses(k: ConnKey): { client: string; vip: string } {
  return k.ip6 === undefined
    ? { client: uint32ToIpv4(k.clientIp), vip: uint32ToIpv4(k.vip) }
    : { client: formatIpv6Words(k.ip6, 0), vip: formatIpv6Words(k.ip6, 4) };
}

/** A 32-bit hash of the 5-tuple (multiply-xorshift mixing), for the open-addressing index. */
export function hashKey(proto: number, clientIp: number, clientPort: number, vip: number, vipPort: number): number {
  let h = Math.imul(clientIp ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ vip, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ ((clientPort << 16) | vipPort), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ proto, 0x165667b1);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The IPv6 5-tuple's hash: every word of both addresses mixed in, so no two words cancel (unlike a fold). The VIP's
 * words go first (vipMix6), so a service with one VIP address mixes them once for all its keys (hashConnKey6);
 * then the client's words, the ports and the protocol. Written out, not loops over the words: it runs for every IPv6
 * packet-in (callgrind, docs/benchmarks.md).
 */
export function hashKey6(proto: number, words: ArrayLike<number>, at: number, clientPort: number, vipPort: number): number {
  return hashAfterVip6(vipMix6(words, at + 4), proto, words, at, clientPort, vipPort);
}

/**
 * The hash state after an IPv6 VIP's four words (from `at`): what every key to that VIP starts from. A single-address
 * VIP's is made once (ServiceState.vip6Mix); a prefix VIP's keys each name their own VIP address, mixed per key.
 */
export function vipMix6(words: ArrayLike<number>, at = 0): number {
  let h = Math.imul(0x9e3779b9 ^ words[at], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ words[at + 1], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ words[at + 2], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ words[at + 3], 0x85ebca6b);
  return h ^ (h >>> 13);
}

/**
 * hashKey6 of an IPv6 5-tuple whose client words (from `clientAt`) and VIP words (from `vipAt`) lie in different
 * arrays: the connection table's slots keep the client's words and an interned VIP (conn-vips.ts). The same number.
 */
export function hashKey6Split(
  proto: number, clientWords: ArrayLike<number>, clientAt: number, vipWords: ArrayLike<number>, vipAt: number, clientPort: number, vipPort: number,
): number {
  return hashAfterVip6(vipMix6(vipWords, vipAt), proto, clientWords, clientAt, clientPort, vipPort);
}

/** The rest of hashKey6 from the VIP's mix `h`: the client's words (from `at`), the ports, the protocol. */
function hashAfterVip6(h: number, proto: number, words: ArrayLike<number>, at: number, clientPort: number, vipPort: number): number {
  h = Math.imul(h ^ words[at], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ words[at + 1], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ words[at + 2], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ words[at + 3], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ ((clientPort << 16) | vipPort), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ proto, 0x165667b1);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The index's hash of a key (exported so tests can build colliding keys: a hash match alone must not be a hit). */
export function hashConnKey(k: ConnKey): number {
  return k.ip6 === undefined
    ? hashKey(k.proto, k.clientIp, k.clientPort, k.vip, k.vipPort)
    : hashKey6(k.proto, k.ip6, 0, k.clientPort, k.vipPort);
}

/**
 * hashConnKey of an IPv6 key (ip6 set) whose VIP words' vipMix6 is `vipMix`: the packet-in path of a service with
 * one IPv6 VIP address, which mixes only the client's words per key. The same number as hashConnKey(k).
 */
export function hashConnKey6(vipMix: number, k: ConnKey): number {
  return hashAfterVip6(vipMix, k.proto, k.ip6!, 0, k.clientPort, k.vipPort);
}
