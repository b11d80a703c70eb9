import { AddressError } from './errors';
import { ipv4ToUint32 } from './ipv4';

const bad = (text: string, why: string) => new AddressError('ipv6', `${JSON.stringify(text)} is not an IPv6 address: ${why}`);

/**
 * An IPv6 address text (RFC 4291 section 2.2: hex groups, one '::', an embedded dotted quad at the end)
 * as its 16 bytes. Zone ids ('%eth0') are refused: a VIP or backend address has none.
 */
export function parseIpv6(text: string): Uint8Array {
  if (text.length > 45) throw bad(text, 'too long');
  if (text.includes('%')) throw bad(text, 'zone ids are not allowed');
  const halves = text.split('::');
  if (halves.length > 2) throw bad(text, "more than one '::'");
  const groups = (part: string, last: boolean): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    pieces.forEach((piece, i) => {
      // A dotted quad may only end the address (RFC 4291 section 2.2, form 3).
      if (last && i === pieces.length - 1 && piece.includes('.')) {
        const v4 = ipv4ToUint32(piece);
        out.push(v4 >>> 16, v4 & 0xffff);
        return;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) throw bad(text, `group ${JSON.stringify(piece)} is not 1-4 hex digits`);
      out.push(parseInt(piece, 16));
    });
    return out;
  };
  const head = groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1], true) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) throw bad(text, `${head.length + tail.length} groups`);
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** 16 bytes as RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as '::'. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1]);
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/**
 * An IPv6 address's four 32-bit words, big-endian, as unsigned numbers (into `out` from `outAt`; `out` is returned).
 * `outAt` spares the packet path a subarray view per address (an allocation per packet).
 */
export function ipv6Words(bytes: Uint8Array, offset = 0, out: Uint32Array = new Uint32Array(4), outAt = 0): Uint32Array {
  for (let i = 0; i < 4; i++) {
    const p = offset + 4 * i;
    out[outAt + i] = ((bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]) >>> 0;
  }
  return out;
}

/** Four words (from `at`) back to RFC 5952 text. */
export function formatIpv6Words(words: ArrayLike<number>, at = 0): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const w = words[at + i];
    bytes[4 * i] = w >>> 24;
    bytes[4 * i + 1] = (w >>> 16) & 0xff;
    bytes[4 * i + 2] = (w >>> 8) & 0xff;
    bytes[4 * i + 3] = w & 0xff;
  }
  return formatIpv6(bytes);
}

/**
 * IPVS's 32-bit summary of an IPv6 address (`addr_fold` in ip_vs_sh.c, ip_vs_dh.c, ip_vs_lblc.c and the
 * service/real-server hashes of ip_vs_ctl.c): the xor of its four words, so the IPv4 hashes apply unchanged.
 * An int32 (the kernel's u32 bits): every user hashes it (`>>> 0` first where the hash wants a uint32) or compares it
 * with other folds, never orders it. As an int32 V8 keeps it a small integer in every record it is stored in; as a
 * uint32, a fold at or above 2^31 (fd00::/8 VIPs' are) was a heap number there, and a conversion in each use.
 */
export function foldIpv6(words: ArrayLike<number>, at = 0): number {
  return words[at] ^ words[at + 1] ^ words[at + 2] ^ words[at + 3];
}

/**
 * A connection's two IPv6 addresses as eight int32 fields: the source's (the client's) words s0..s3 and the
 * destination's (the VIP's) d0..d3, as ipv6Words gives them but `| 0`. The packet-in path's header, keys and
 * connection table read these on every new connection: a field of a known shape is one load, a Uint32Array element
 * five to eight instructions (its map, length and base reloaded, a bounds check: callgrind, docs/benchmarks.md).
 */
export interface Ipv6Pair {
  s0: number;
  s1: number;
  s2: number;
  s3: number;
  d0: number;
  d1: number;
  d2: number;
  d3: number;
}

/** A pair of `words`' eight words from `at` (source first), or all zeros. */
export function ipv6Pair(words?: ArrayLike<number>, at = 0): Ipv6Pair {
  if (words === undefined) return { s0: 0, s1: 0, s2: 0, s3: 0, d0: 0, d1: 0, d2: 0, d3: 0 };
  return {
    s0: words[at] | 0, s1: words[at + 1] | 0, s2: words[at + 2] | 0, s3: words[at + 3] | 0,
    d0: words[at + 4] | 0, d1: words[at + 5] | 0, d2: words[at + 6] | 0, d3: words[at + 7] | 0,
  };
}

/** The pair's eight words, source first, as unsigned numbers: for readers off the packet-in path (text, folds). */
export function ipv6PairWords(p: Ipv6Pair): Uint32Array {
  return Uint32Array.of(p.s0, p.s1, p.s2, p.s3, p.d0, p.d1, p.d2, p.d3);
}

/** Copies `from`'s eight fields into `to`. */
export function copyIpv6Pair(to: Ipv6Pair, from: Ipv6Pair): void {
  setIpv6Pair(to, from.s0, from.s1, from.s2, from.s3, from.d0, from.d1, from.d2, from.d3);
}

/** The pair's source (client) address as RFC 5952 text. */
export function formatIpv6Source(p: Ipv6Pair): string {
  return formatIpv6Words([p.s0, p.s1, p.s2, p.s3]);
}

/** The pair's destination (VIP) address as RFC 5952 text. */
export function formatIpv6Destination(p: Ipv6Pair): string {
  return formatIpv6Words([p.d0, p.d1, p.d2, p.d3]);
}

/** Reads a source address and the destination address after it (32 bytes from `offset`, as in an IPv6 header) into `out`. */
export function readIpv6Pair(bytes: Uint8Array, offset: number, out: Ipv6Pair): Ipv6Pair {
  const w = (p: number) => (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
  out.s0 = w(offset);
  out.s1 = w(offset + 4);
  out.s2 = w(offset + 8);
  out.s3 = w(offset + 12);
  out.d0 = w(offset + 16);
  out.d1 = w(offset + 20);
  out.d2 = w(offset + 24);
  out.d3 = w(offset + 28);
  return out;
}

/** Sets the pair's eight fields (int32s). */
export function setIpv6Pair(
  out: Ipv6Pair, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number,
): Ipv6Pair {
  out.s0 = s0;
  out.s1 = s1;
  out.s2 = s2;
  out.s3 = s3;
  out.d0 = d0;
  out.d1 = d1;
  out.d2 = d2;
  out.d3 = d3;
  return out;
}
