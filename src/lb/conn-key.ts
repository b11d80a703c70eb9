// A connection's key: the 5-tuple as numbers (IPv6 addresses as words), to and from address text, and the
// connection table's hashes of it (src/lb/conn-table.ts).
import { LbInputError } from './errors';
import { ipv4ToUint32, uint32ToIpv4 } from '../net/ipv4';
import { formatIpv6Destination, formatIpv6Source, ipv6Pair, ipv6PairWords, ipv6Words, parseIpv6, type Ipv6Pair } from '../net/ipv6';

/** A connection's identity as the client sees it (IPv4 addresses as uint32). */
export interface ConnKey {
  proto: number;
  clientIp: number;
  clientPort: number;
  vip: number;
  vipPort: number;
  /**
   * IPv6 connections only: the client's (s0..s3) and the VIP's (d0..d3) address words as int32 fields (net/Ipv6Pair);
   * clientIp and vip then hold each address's IPVS fold (net/foldIpv6). Absent for IPv4, which costs the IPv4 path one
   * check.
   */
  ip6?: Ipv6Pair;
}

/**
 * A key from address text, IPv4 or IPv6 (e.g. read back from a flow or the tracker's listing). Both addresses must
 * be of one family: vadc does not translate between them.
 */
export function connKeyFromText(proto: number, client: string, clientPort: number, vip: string, vipPort: number): ConnKey {
  const v6 = client.includes(':');
  if (v6 !== vip.includes(':')) throw new LbInputError('conn', `client ${client} and VIP ${vip} are of different address families`);
  if (!v6) return { proto, clientIp: ipv4ToUint32(client), clientPort, vip: ipv4ToUint32(vip), vipPort };
  const words = new Uint32Array(8);
  ipv6Words(parseIpv6(client), 0, words, 0);
  ipv6Words(parseIpv6(vip), 0, words, 4);
  const ip6 = ipv6Pair(words);
  return { proto, clientIp: clientFold6(ip6), clientPort, vip: vipFold6(ip6), vipPort, ip6 };
}

/** The IPVS fold (net/foldIpv6) of an IPv6 key's client address: an int32. */
export function clientFold6(p: Ipv6Pair): number {
  return p.s0 ^ p.s1 ^ p.s2 ^ p.s3;
}

/** The IPVS fold of an IPv6 key's VIP address. */
export function vipFold6(p: Ipv6Pair): number {
  return p.d0 ^ p.d1 ^ p.d2 ^ p.d3;
}

/**
 * One connection's identity as text (client side and VIP side), for matching keys across sources (the tracker's
 * listing, refusals). An IPv6 connection is keyed by its eight address words (its folds alone could collide).
 */
export function connKeyText(k: ConnKey): string {
  return k.ip6 === undefined
    ? `${k.proto}/${k.clientIp}/${k.clientPort}/${k.vip}/${k.vipPort}`
    : `${k.proto}/${ipv6PairWords(k.ip6).join('.')}/${k.clientPort}/${k.vipPort}`;
}

/** A key's client and VIP addresses as text (RFC 5952 for IPv6). */
export function connAddresses(k: ConnKey): { client: string; vip: string } {
  return k.ip6 === undefined
    ? { client: uint32ToIpv4(k.clientIp), vip: uint32ToIpv4(k.vip) }
    : { client: formatIpv6Source(k.ip6), vip: formatIpv6Destination(k.ip6) };
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
export function hashKey6(proto: number, p: Ipv6Pair, clientPort: number, vipPort: number): number {
  return hashAfterVip6(vipMix6Of(p.d0, p.d1, p.d2, p.d3), proto, p.s0, p.s1, p.s2, p.s3, clientPort, vipPort);
}

/**
 * The hash state after an IPv6 VIP's four words (from `at`): what every key to that VIP starts from. A single-address
 * VIP's is made once (ServiceState.vip6Mix); a prefix VIP's keys each name their own VIP address, mixed per key.
 */
export function vipMix6(words: ArrayLike<number>, at = 0): number {
  return vipMix6Of(words[at], words[at + 1], words[at + 2], words[at + 3]);
}

function vipMix6Of(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(0x9e3779b9 ^ w0, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ w1, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ w2, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ w3, 0x85ebca6b);
  return h ^ (h >>> 13);
}

/**
 * hashKey6 of an IPv6 5-tuple whose client words (from `clientAt`) and VIP words (from `vipAt`) lie in different
 * arrays: the connection table's slots keep the client's words and an interned VIP (conn-vips.ts). The same number.
 */
export function hashKey6Split(
  proto: number, clientWords: ArrayLike<number>, clientAt: number, vipWords: ArrayLike<number>, vipAt: number, clientPort: number, vipPort: number,
): number {
  const c = clientWords;
  return hashAfterVip6(vipMix6(vipWords, vipAt), proto, c[clientAt], c[clientAt + 1], c[clientAt + 2], c[clientAt + 3], clientPort, vipPort);
}

/** The rest of hashKey6 from the VIP's mix `h`: the client's words, the ports, the protocol. */
function hashAfterVip6(h: number, proto: number, c0: number, c1: number, c2: number, c3: number, clientPort: number, vipPort: number): number {
  h = Math.imul(h ^ c0, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ c1, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ c2, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ c3, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ ((clientPort << 16) | vipPort), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ proto, 0x165667b1);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The index's hash of a key (exported so tests can build colliding keys: a hash match alone must not be a hit). */
export function hashConnKey(k: ConnKey): number {
  return k.ip6 === undefined
    ? hashKey(k.proto, k.clientIp, k.clientPort, k.vip, k.vipPort)
    : hashKey6(k.proto, k.ip6, k.clientPort, k.vipPort);
}

/**
 * hashConnKey of an IPv6 key (ip6 set) whose VIP words' vipMix6 is `vipMix`: the packet-in path of a service with
 * one IPv6 VIP address, which mixes only the client's words per key. The same number as hashConnKey(k).
 */
export function hashConnKey6(vipMix: number, k: ConnKey): number {
  const p = k.ip6!;
  return hashAfterVip6(vipMix, k.proto, p.s0, p.s1, p.s2, p.s3, k.clientPort, k.vipPort);
}
