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
