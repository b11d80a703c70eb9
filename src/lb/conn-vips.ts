// The IPv6 VIP addresses of a connection table's slots, each stored once: an IPv6 slot holds its VIP's index here
// instead of the VIP's four words. A service's connections mostly share one VIP address, and the slot arrays are
// reallocated at each doubling: 16 bytes less per IPv6 slot to allocate, copy and zero (docs/benchmarks.md, issue 16).
// References are counted: an address no tracked connection names any longer is let go, so a prefix VIP's addresses
// cost at most one entry per tracked connection.

/** Addresses compared one by one before the Map is asked (a few VIP addresses per service). */
const SCAN = 8;
const NONE = -1;

export class Vip6Intern {
  /** Four words per interned address (net/ipv6Words), at index * 4. */
  words = new Uint32Array(4 * 4);
  private refs = new Uint32Array(4);
  private free: number[] = [];
  private highWater = 0;
  /** The address interned last: a service with one VIP address finds it with four compares. */
  private last = NONE;
  // Its four words as int32 fields (small integers on 64-bit V8): compared without a typed array's map, length and
  // bounds checks per word, which made this the dearest part of an IPv6 insert (~100 instructions of ~670: callgrind,
  // docs/benchmarks.md).
  private last0 = 0;
  private last1 = 0;
  private last2 = 0;
  private last3 = 0;
  /** Every interned address by its text key (keyOf), for a prefix VIP's many addresses. */
  private readonly byKey = new Map<string, number>();

  /** Addresses interned now. */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * The index of the address whose four words are a0..a3 (int32s, as ConnKey.ip6 holds them), interned if new; one
   * reference more to it.
   */
  intern(a0: number, a1: number, a2: number, a3: number): number {
    const last = this.last;
    if (last !== NONE && a0 === this.last0 && a1 === this.last1 && a2 === this.last2 && a3 === this.last3) {
      this.refs[last]++;
      return last;
    }
    const scan = this.highWater < SCAN ? this.highWater : SCAN;
    for (let i = 0; i < scan; i++) {
      if (this.refs[i] !== 0 && this.equals(i, a0, a1, a2, a3)) return this.hold(i);
    }
    const key = keyOf(a0, a1, a2, a3);
    if (this.highWater > SCAN) {
      const known = this.byKey.get(key);
      if (known !== undefined) return this.hold(known);
    }
    const index = this.free.length > 0 ? this.free.pop()! : this.take();
    const w = this.words;
    w[index * 4] = a0;
    w[index * 4 + 1] = a1;
    w[index * 4 + 2] = a2;
    w[index * 4 + 3] = a3;
    this.byKey.set(key, index);
    return this.hold(index);
  }

  /** One reference less to `index`; the address is let go with its last one. */
  release(index: number): void {
    if (--this.refs[index] !== 0) return;
    const w = this.words;
    const i = index * 4;
    this.byKey.delete(keyOf(w[i], w[i + 1], w[i + 2], w[i + 3]));
    this.free.push(index);
    if (this.last === index) this.last = NONE;
  }

  private hold(index: number): number {
    this.refs[index]++;
    if (this.last !== index) {
      const w = this.words;
      const i = index * 4;
      this.last = index;
      this.last0 = w[i] | 0;
      this.last1 = w[i + 1] | 0;
      this.last2 = w[i + 2] | 0;
      this.last3 = w[i + 3] | 0;
    }
    return index;
  }

  private equals(index: number, a0: number, a1: number, a2: number, a3: number): boolean {
    const w = this.words;
    const i = index * 4;
    return (w[i] | 0) === a0 && (w[i + 1] | 0) === a1 && (w[i + 2] | 0) === a2 && (w[i + 3] | 0) === a3;
  }

  /** A new index at the high-water mark, the arrays doubled when full. */
  private take(): number {
    if (this.highWater === this.refs.length) {
      const refs = new Uint32Array(this.refs.length * 2);
      refs.set(this.refs);
      this.refs = refs;
      const words = new Uint32Array(refs.length * 4);
      words.set(this.words);
      this.words = words;
    }
    return this.highWater++;
  }
}

/** An address's four words as an 8-character key (16 bits a character). */
function keyOf(a0: number, a1: number, a2: number, a3: number): string {
  return String.fromCharCode(a0 >>> 16, a0 & 0xffff, a1 >>> 16, a1 & 0xffff, a2 >>> 16, a2 & 0xffff, a3 >>> 16, a3 & 0xffff);
}
