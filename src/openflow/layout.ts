// Pre-encoded message layouts: the one way vadc writes a message it sends over and over in a fixed shape
// (a new connection's flow-mods and packet-out) without building and encoding objects each time.
//
// A layout is encode()'s own bytes for a prototype, plus the offset of each named value ("slot"). The
// offsets are not assumed and not found by walking TLVs: each is found by encoding the prototype again with
// only that value's bits flipped and seeing which bytes change. So whatever encodes the message (declared
// structures, hand-written Nicira actions, nested ct actions) the slots are exactly where encode() puts
// the values, and the layout is checked against encode() on random values before it is used.
import { encode } from './codec';
import { OfpEncodeError } from './errors';
import type { OfpMessage } from './types';

/** A slot's size on the wire (bytes) and how many of its low bits the value fills (the rest is fixed). */
export interface SlotSpec {
  bytes: 1 | 2 | 4 | 6;
  /** Default: all of them. A value in fewer bits shares its bytes with fixed bits kept from the prototype. */
  bits?: number;
}

export type SlotSpecs<V> = { readonly [K in keyof V]: SlotSpec };

/** A message layout: the prototype's bytes and where each slot's value goes (one or more places). */
export interface MessageLayout<V extends Record<string, number>> {
  /** encode(build(prototype values)), copied out of the codec's shared slab. */
  readonly bytes: Buffer;
  /** Offsets of each slot (a value can appear in several places, e.g. a port in two fields). */
  readonly offsets: { readonly [K in keyof V]: readonly number[] };
  /** The only offset of a slot that appears once (throws otherwise): for hot paths that store by hand. */
  offset(slot: keyof V): number;
  /** Writes values into a copy of the layout at `at` in `out` (out must hold bytes.length from at). */
  write(out: Buffer, at: number, values: V): void;
}

export class OfpLayoutError extends Error {
  override readonly name = 'OfpLayoutError';
}

/** Big-endian stores without Buffer's per-call argument checks, for hot paths that write layouts by hand. */
export function u32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

export function u16(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 8;
  b[at + 1] = value;
}

const maskOf = (bits: number): number => (bits >= 32 ? 0xffffffff : ((1 << bits) >>> 0) - 1) >>> 0;

/** Flips a value's low `bits` bits (numbers up to 48 bits, for MACs). */
function flipped(value: number, bits: number): number {
  if (bits <= 32) return ((value ^ maskOf(bits)) >>> 0) % 2 ** bits;
  const high = Math.floor(value / 2 ** 32);
  const low = value % 2 ** 32;
  return (high ^ maskOf(bits - 32)) * 2 ** 32 + ((low ^ 0xffffffff) >>> 0);
}

/** Stores the low `bits` of value big-endian into `bytes` bytes at `at`, keeping the other bits as they are. */
export function storeSlot(out: Uint8Array, at: number, spec: SlotSpec, value: number): void {
  const bits = spec.bits ?? spec.bytes * 8;
  if (spec.bytes === 6) {
    const high = Math.floor(value / 2 ** 32);
    out[at] = high >>> 8;
    out[at + 1] = high;
    storeSlot(out, at + 2, { bytes: 4 }, value % 2 ** 32);
    return;
  }
  let v = value;
  let mask = maskOf(bits);
  for (let i = spec.bytes - 1; i >= 0; i--) {
    const m = mask & 0xff;
    out[at + i] = (out[at + i] & ~m) | (v & m);
    v = Math.floor(v / 256);
    mask >>>= 8;
  }
}

/**
 * Compiles a layout for messages made by `build` (a pure builder) from numeric values. `prototype` gives
 * values for every slot; each must be representable in its slot's bits. Throws OfpLayoutError when a slot
 * cannot be located (its value changes the length, or lands in bytes that differ from its width) or the
 * layout does not reproduce encode() for random values.
 */
export function compileLayout<V extends Record<string, number>>(build: (values: V) => OfpMessage, prototype: V, slots: SlotSpecs<V>): MessageLayout<V> {
  const bytes = Buffer.from(encode(build(prototype)));
  const offsets = {} as { [K in keyof V]: number[] };
  for (const key of Object.keys(slots) as (keyof V & string)[]) {
    const spec = slots[key];
    const bits = spec.bits ?? spec.bytes * 8;
    const value = prototype[key];
    if (!(Number.isInteger(value) && value >= 0 && value < 2 ** bits)) throw new OfpLayoutError(`layout slot ${key}: prototype value ${value} does not fit ${bits} bits`);
    const variant = Buffer.from(encode(build({ ...prototype, [key]: flipped(value, bits) })));
    if (variant.length !== bytes.length) throw new OfpLayoutError(`layout slot ${key}: changing it changes the message length (${bytes.length} -> ${variant.length})`);
    offsets[key] = differingRuns(bytes, variant).map(([start, end]) => {
      // The flipped bits are the field's low bits, so a run ends where the field ends (big-endian).
      const at = end - spec.bytes;
      if (end - start > spec.bytes || at < 0) throw new OfpLayoutError(`layout slot ${key}: bytes ${start}..${end} changed, more than its ${spec.bytes}`);
      return at;
    });
    if (offsets[key].length === 0) throw new OfpLayoutError(`layout slot ${key}: the value does not appear in the encoding`);
  }
  const layout: MessageLayout<V> = {
    bytes,
    offsets,
    offset(slot) {
      const at = offsets[slot];
      if (at.length !== 1) throw new OfpLayoutError(`layout slot ${String(slot)} appears ${at.length} times`);
      return at[0];
    },
    write(out, at, values) {
      out.set(bytes, at);
      for (const key of Object.keys(slots) as (keyof V)[]) {
        for (const offset of offsets[key]) storeSlot(out, at + offset, slots[key], values[key]);
      }
    },
  };
  verify(layout, build, prototype, slots);
  return layout;
}

/** [start, end) runs of bytes that differ. */
function differingRuns(a: Buffer, b: Buffer): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const start = i;
    while (i < a.length && a[i] !== b[i]) i++;
    runs.push([start, i]);
  }
  return runs;
}

/** Random values through the layout and through encode() must give the same bytes. */
function verify<V extends Record<string, number>>(layout: MessageLayout<V>, build: (values: V) => OfpMessage, prototype: V, slots: SlotSpecs<V>): void {
  let seed = 0x9e3779b9;
  const random = (bits: number) => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const r = bits > 32 ? seed * 2 ** (bits - 32) + (seed >>> (64 - bits)) : seed >>> (32 - bits);
    return Math.max(1, r);
  };
  let verified = 0;
  for (let round = 0; round < 8; round++) {
    const values = { ...prototype };
    for (const key of Object.keys(slots) as (keyof V)[]) (values as Record<keyof V, number>)[key] = random(slots[key].bits ?? slots[key].bytes * 8);
    let expected: Buffer;
    try {
      expected = encode(build(values));
    } catch {
      continue; // a random value the builder refuses (e.g. a reserved port) says nothing about the layout
    }
    const got = Buffer.alloc(layout.bytes.length);
    layout.write(got, 0, values);
    if (!got.equals(expected)) throw new OfpEncodeError('layout', `the layout does not reproduce encode() for ${JSON.stringify(values)}`);
    verified++;
  }
  if (verified < 2) throw new OfpLayoutError(`the builder refused ${8 - verified} of 8 random value sets: the layout could not be verified`);
}
