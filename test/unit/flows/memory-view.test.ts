// MessageSlab: each message is a Buffer of its own bytes, and the view it comes with addresses exactly those bytes.
import { createServer, connect, type NetConnectOpts, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MESSAGE_SLAB_BYTES, MessageSlab, POOLED_SLABS } from '../../../src/flows/memory-view';
import { releaseMessage } from '../../../src/openflow/lent-memory';
import { WriteBatcher } from '../../../src/controller/write-batcher';

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

  describe('reuse of a full slab once every message cut from it is released', () => {
    /** A message of `length` bytes, each `fill`, written through the view as the hot paths write. */
    function filled(slab: MessageSlab, length: number, fill: number): Buffer {
      const bytes = slab.take(length);
      for (let k = 0; k < length; k++) slab.view.setUint8(slab.at + k, fill);
      return bytes;
    }

    it('never while one message of it is unreleased: its bytes stay as written; after its release, the slab comes back', () => {
      const slab = new MessageSlab(128);
      const kept = filled(slab, 16, 0xaa);
      // Its slab filled up by others (16 + 16 + 32 + 64 = 128 bytes), all released.
      const others = [filled(slab, 16, 1), filled(slab, 32, 2), filled(slab, 64, 3)];
      expect(others.map((m) => m.buffer === kept.buffer)).toEqual([true, true, true]);
      for (const m of others) releaseMessage(m);
      // Released twice: counts once (else the slab would seem empty while `kept` is not released).
      releaseMessage(others[0]);
      // Many slabs' worth of new messages, each written whole: none lands on `kept`'s memory.
      for (let i = 0; i < 40; i++) {
        const m = filled(slab, 40, 0x55);
        expect(m.buffer).not.toBe(kept.buffer);
        releaseMessage(m);
      }
      expect(kept.equals(Buffer.alloc(16, 0xaa))).toBe(true);
      expect(slab.slabsReused).toBeGreaterThan(0); // the others' slabs did come back
      // Released now: its (full) slab is in the pool, and is taken again by the next slab change that finds the
      // current slab still held (these messages are kept), and written over.
      releaseMessage(kept);
      const seen = new Set<ArrayBufferLike>();
      for (let i = 0; i < 10; i++) seen.add(filled(slab, 40, 0x66).buffer);
      expect(seen.has(kept.buffer)).toBe(true);
      expect(kept.equals(Buffer.alloc(16, 0x66))).toBe(true);
    });

    it('keeps at most POOLED_SLABS emptied slabs, and none of a message over half a slab (memory of its own)', () => {
      const slab = new MessageSlab(128);
      const slabs = 3 * POOLED_SLABS;
      // Two messages of 60 bytes a slab.
      const held: Buffer[] = [];
      for (let i = 0; i < 2 * slabs; i++) held.push(filled(slab, 60, i));
      const big = filled(slab, 65, 0xbb);
      releaseMessage(big);
      expect(big.buffer.byteLength).toBe(65);
      expect(slab.slabsMade).toBe(slabs);
      // All released: slabs - 1 are full (the last is still the current one), POOLED_SLABS of them are kept.
      for (const m of held) releaseMessage(m);
      for (let i = 0; i < 2 * slabs; i++) held.push(filled(slab, 60, 0));
      expect(slab.slabsReused).toBe(POOLED_SLABS);
      expect(slab.slabsMade).toBe(slabs + slabs - POOLED_SLABS);
    });

    it('a view of a message (subarray) releases nothing', () => {
      const slab = new MessageSlab(128);
      const kept = filled(slab, 40, 0xcc);
      releaseMessage(kept.subarray(0, 8));
      for (let i = 0; i < 8; i++) releaseMessage(filled(slab, 40, 0));
      expect(kept.equals(Buffer.alloc(40, 0xcc))).toBe(true);
      expect(slab.slabsReused).toBeGreaterThan(0);
    });

    it('through a WriteBatcher on a real socket with a slow reader: every message arrives as written, and slabs are reused', async () => {
      // The writer's contract (src/controller/write-batcher.ts releases through src/openflow/lent-memory.ts): released in the write callback,
      // after the kernel has the bytes. Released any sooner (when write() returns, while the socket still buffers
      // them), a reused slab would be written over before it is sent and the reader would see other bytes.
      // A Unix socket: its kernel buffers (~200 KB) are far smaller than loopback TCP's (up to 32 MB here), so most of
      // what is sent waits in the socket, as the write's memory, while the reader is paused. The socket's high-water
      // mark is raised so that write() keeps accepting meanwhile (else the batcher holds the rest back, unwritten).
      const dir = mkdtempSync(path.join(tmpdir(), 'vadc-slab-'));
      const server = createServer();
      server.listen(path.join(dir, 'sock'));
      await once(server, 'listening');
      // (Node's Socket passes its options to its Duplex, which takes the mark; @types/node does not list it.)
      const client = connect({ path: path.join(dir, 'sock'), writableHighWaterMark: 1 << 30 } as NetConnectOpts);
      const [peer] = (await once(server, 'connection')) as [Socket];
      await once(client, 'connect');
      const slab = new MessageSlab(8192);
      const batcher = new WriteBatcher(client, { maxQueuedBytes: 1 << 30, onOverflow: () => undefined });
      const expected: Buffer[] = [];
      const received: Buffer[] = [];
      peer.pause();
      peer.on('data', (d: Buffer) => received.push(d));
      let sent = 0;
      // 8,000 messages of 200-700 bytes (~3.6 MB).
      for (let i = 0; i < 8000; i++) {
        const length = 200 + ((i * 37) % 501);
        const m = filled(slab, length, i & 0xff);
        m.writeUInt32BE(i, 0);
        expected.push(Buffer.from(m));
        batcher.enqueue(m);
        sent += length;
        // A flush every 5 messages (~2 KB): each is sent as views of the slab (one that spans more than two pieces of
        // memory is sent as a copy, which does not test the slab).
        if (i % 5 === 4) {
          batcher.flush();
          // Let the socket's callbacks run now and then, as turns do.
          await new Promise((r) => setImmediate(r));
          if (i === 5999) peer.resume();
        }
      }
      batcher.flush();
      peer.resume();
      while (received.reduce((n, b) => n + b.length, 0) < sent) await new Promise((r) => setTimeout(r, 5));
      client.destroy();
      peer.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
      const got = Buffer.concat(received);
      let at = 0;
      for (let i = 0; i < expected.length; i++) {
        const want = expected[i];
        if (!got.subarray(at, at + want.length).equals(want)) throw new Error(`message ${i} arrived changed`);
        at += want.length;
      }
      expect(at).toBe(got.length);
      // ~450 slabs' worth of messages: many of them were slabs used again (at most POOLED_SLABS are kept at a time,
      // so the ones emptied at once when the reader resumes are mostly let go).
      expect(slab.slabsReused).toBeGreaterThan(50);
    });
  });
});
