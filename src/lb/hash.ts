/**
 * Hashes used by the hashing schedulers.
 *
 * dh/sh: the kernel's hash_32(x, bits) (include/linux/hash.h): the top `bits` bits of the 32-bit
 * product x * GOLDEN_RATIO_32 (0x61C88647). Recent kernels use it for ip_vs_dh/ip_vs_sh; older ones
 * took the low 8 bits of x * 2654435761, which spreads badly for addresses differing only in high bits.
 */
export const GOLDEN_RATIO_32 = 0x61c88647;

export function hash32(value: number, bits: number): number {
  return Math.imul(value >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

/**
 * mh: the kernel keys hsiphash with two fixed keys. We do not need siphash's resistance (the keys are
 * public in the kernel too), only two independent, well-mixed 32-bit hashes, so we use the murmur3
 * finaliser over the value xor a seed. Documented in docs/schedulers.md.
 */
export const MH_SEED_1 = 0x9e3779b1;
export const MH_SEED_2 = 0x85ebca77;

export function mix32(value: number, seed: number): number {
  let h = (value ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over a string: folds a backend's stable id into 32 bits for its Maglev permutation. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}
