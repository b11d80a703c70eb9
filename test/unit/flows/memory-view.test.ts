// MessageSlab: each message is a Buffer of its own bytes, and the view it comes with addresses exactly those bytes.
import { MESSAGE_SLAB_BYTES, MessageSlab } from '../../../src/flows/memory-view';

/** A small deterministic PRNG, so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s;
  };
}

describe('MessageSlab', () => {
  it('gives messages that never overlap, across slabs, each written through its view at its own offset', () => {
    const slab = new MessageSlab(1024);
    const next = prng(7);
    const taken: { bytes: Buffer; fill: number }[] = [];
    const memories = new Set<ArrayBufferLike>();
    for (let i = 0; i < 400; i++) {
      // Up to the half slab that still shares it, and now and then one over it (memory of its own).
      const length = i % 50 === 49 ? 513 + (next() % 600) : 1 + (next() % 512);
      const bytes = slab.take(length);
      expect(Buffer.isBuffer(bytes)).toBe(true);
      expect(bytes.length).toBe(length);
      const fill = next() & 0xff;
      // Written through the view only; read back through the Buffer.
      for (let k = 0; k < length; k++) slab.view.setUint8(slab.at + k, (fill + k) & 0xff);
      if (length >= 4) {
        slab.view.setUint32(slab.at + length - 4, 0x01020304 ^ fill);
        expect(bytes.readUInt32BE(length - 4)).toBe((0x01020304 ^ fill) >>> 0);
        slab.view.setUint8(slab.at + length - 4, (fill + length - 4) & 0xff);
        slab.view.setUint8(slab.at + length - 3, (fill + length - 3) & 0xff);
        slab.view.setUint8(slab.at + length - 2, (fill + length - 2) & 0xff);
        slab.view.setUint8(slab.at + length - 1, (fill + length - 1) & 0xff);
      }
      if (length > 512) expect(bytes.byteOffset).toBe(0);
      memories.add(bytes.buffer);
      taken.push({ bytes, fill });
    }
    // Every message still holds its own pattern: none was written over by a later one.
    for (const { bytes, fill } of taken) {
      for (let k = 0; k < bytes.length; k++) if (bytes[k] !== ((fill + k) & 0xff)) throw new Error(`message of ${bytes.length} bytes changed at ${k}`);
    }
    // Several slabs were used (400 messages of ~256 bytes in 1 KiB slabs), and several messages share each.
    expect(memories.size).toBeGreaterThan(20);
    expect(memories.size).toBeLessThan(taken.length / 2);
  });

  it('starts each message right after the last in its slab and fills a slab before taking the next', () => {
    const slab = new MessageSlab(64);
    const a = slab.take(10);
    const b = slab.take(24);
    const c = slab.take(31);
    expect([a.byteOffset, b.byteOffset]).toEqual([0, 10]);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
    expect(c.byteOffset).toBe(0);
    expect(slab.at).toBe(0);
  });

  it('joined: a message of the head then the tail, which its view addresses, in a shared slab and in memory of its own', () => {
    const slab = new MessageSlab(256);
    for (const tailLength of [10, 200, 0, 100]) {
      const head = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const tail = Buffer.alloc(tailLength, 0xee);
      const out = slab.joined(head, tail);
      expect(out.toString('hex')).toBe(Buffer.concat([head, tail]).toString('hex'));
      slab.view.setUint16(slab.at + 2, 0xabcd);
      expect(out.readUInt16BE(2)).toBe(0xabcd);
      // Over half the slab (128 bytes): memory of its own; else the slab's 256.
      expect(out.buffer.byteLength).toBe(out.length > 128 ? out.length : 256);
    }
  });

  it('defaults to slabs of MESSAGE_SLAB_BYTES', () => {
    const slab = new MessageSlab();
    const small = slab.take(MESSAGE_SLAB_BYTES >>> 1);
    const big = slab.take((MESSAGE_SLAB_BYTES >>> 1) + 1);
    expect(small.buffer.byteLength).toBe(MESSAGE_SLAB_BYTES);
    expect(big.buffer.byteLength).toBe((MESSAGE_SLAB_BYTES >>> 1) + 1);
  });
});
