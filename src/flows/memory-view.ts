// Buffer from its module: the global one is an accessor (a LoadGlobalIC miss and a getter call where it is read on a hot path).
import { Buffer } from 'node:buffer';

/** A slab's size: messages over half of it get memory of their own. */
export const MESSAGE_SLAB_BYTES = 64 * 1024;

/**
 * New messages cut from memory this holds, with a DataView over that memory made once per slab, for hot paths that
 * write many 32-bit big-endian words into each new message: an optimized `setUint32` is a handful of instructions
 * where four single-byte stores into a Buffer cost ~15 each. The view comes with the message: reaching it from a
 * Buffer (`bytes.buffer`) is a call into V8's C++ (~110 instructions a message: callgrind, docs/benchmarks.md).
 * Small messages share a slab as Buffer.allocUnsafe's share its pool (a slab stays alive while a message cut from it
 * does); one over half a slab gets memory of its own.
 */
export class MessageSlab {
  /** The view over the memory of the last message taken: write it at `at` plus the offset in the message. */
  view: DataView<ArrayBuffer>;
  /** Where the last message taken starts in `view`. */
  at = 0;
  private memory: ArrayBuffer;
  private slabView: DataView<ArrayBuffer>;
  private next = 0;

  constructor(private readonly slabBytes = MESSAGE_SLAB_BYTES) {
    this.memory = unzeroed(slabBytes);
    this.slabView = new DataView(this.memory);
    this.view = this.slabView;
  }

  /** A new message of `head` then `tail` (copied in); `view` and `at` then address it, for the words written over them. */
  joined(head: Uint8Array, tail: Uint8Array): Buffer {
    const out = this.take(head.length + tail.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  }

  /** A new message of `length` bytes (not zeroed); `view` and `at` then address it. */
  take(length: number): Buffer {
    if (length > this.slabBytes >>> 1) {
      const own = unzeroed(length);
      this.view = new DataView(own);
      this.at = 0;
      return new SlabBuffer(own, 0, length) as Buffer;
    }
    if (this.next + length > this.slabBytes) {
      this.memory = unzeroed(this.slabBytes);
      this.slabView = new DataView(this.memory);
      this.next = 0;
    }
    const at = this.next;
    // Stored only when it changes (a new slab, or a message with memory of its own came before): a new slab's view is
    // young while this slab is old, so each store of it is a write-barrier call (~80 instructions, callgrind).
    if (this.view !== this.slabView) this.view = this.slabView;
    this.at = at;
    // The next message starts right after this one: a turn's answers then lie back to back, and the socket's writer
    // sends them as one view of the slab instead of a copy (src/controller/write-batcher.ts).
    this.next = at + length;
    return new SlabBuffer(this.memory, at, length) as Buffer;
  }
}

/**
 * A Buffer over a slab's memory, made as Node makes its own (a Uint8Array subclass whose prototype is
 * Buffer.prototype): `Buffer.from(memory, at, length)` asks V8's C++ whether `memory` is an ArrayBuffer first.
 */
class SlabBuffer extends Uint8Array {}
Object.setPrototypeOf(SlabBuffer.prototype, Buffer.prototype);

/** Memory every message overwrites whole before it is sent: not zeroed first (as Buffer.allocUnsafe's pool). */
const unzeroed = (bytes: number): ArrayBuffer => Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;

/**
 * The memory of the messages a new connection's packet-in is answered with (flows mode's flow pair, conntrack mode's
 * commit), in both families: each is written whole before the next is taken, through `view` at `at`.
 */
export const messageMemory = new MessageSlab();
