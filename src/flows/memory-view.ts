// Buffer from its module: the global one is an accessor (a LoadGlobalIC miss and a getter call where it is read on a hot path).
import { Buffer } from 'node:buffer';
import type { OwnedMessage } from '../openflow/lent-memory';

/** A slab's size: messages over half of it get memory of their own. */
export const MESSAGE_SLAB_BYTES = 64 * 1024;

/** Emptied slabs kept for reuse, at most: past this many, an emptied slab is left to the garbage collector. */
export const POOLED_SLABS = 4;

/**
 * New messages cut from memory this holds, with a DataView over that memory made once per slab, for hot paths that
 * write many 32-bit big-endian words into each new message: an optimized `setUint32` is a handful of instructions
 * where four single-byte stores into a Buffer cost ~15 each. The view comes with the message: reaching it from a
 * Buffer (`bytes.buffer`) is a call into V8's C++ (~110 instructions a message: callgrind, docs/benchmarks.md).
 * Small messages share a slab as Buffer.allocUnsafe's share its pool (a slab stays alive while a message cut from it
 * does); one over half a slab gets memory of its own.
 *
 * A slab is used again once it is full and every message cut from it has been released (`releaseMessage`,
 * src/openflow/lent-memory.ts): a fresh 64 KB slab is memory outside V8's heap, and such memory allocated since the
 * last full collection brings the next one sooner (~8,000 slabs, ~500 MB, per 960k IPv6 connections without reuse:
 * docs/benchmarks.md, issue 16).
 * Ownership: whoever takes a message owns it; handing it to a session gives it to that session's writer
 * (src/controller/write-batcher.ts), which releases it once, when the socket has done with its bytes. A message nobody
 * releases (one a test keeps, one withheld from a standby's switch, one dropped with its session) keeps its slab out of
 * the pool for good, which is safe: the slab is then garbage as it always was, and its bytes are never written again.
 */
export class MessageSlab {
  /** The view over the memory of the last message taken: write it at `at` plus the offset in the message. */
  view: DataView<ArrayBuffer>;
  /** Where the last message taken starts in `view`. */
  at = 0;
  /** Slabs allocated, and slabs taken again from the pool (for tests and the benchmarks' counts). */
  slabsMade = 1;
  slabsReused = 0;
  private slab: Slab;
  private memory: ArrayBuffer;
  private slabView: DataView<ArrayBuffer>;
  private next = 0;
  private readonly pool: Slab[] = [];

  constructor(private readonly slabBytes = MESSAGE_SLAB_BYTES) {
    this.slab = new Slab(unzeroed(slabBytes), this);
    this.memory = this.slab.memory;
    this.slabView = this.slab.view;
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
    if (this.next + length > this.slabBytes) this.nextSlab();
    const at = this.next;
    // Stored only when it changes (a new slab, or a message with memory of its own came before): a new slab's view is
    // young while this slab is old, so each store of it is a write-barrier call (~80 instructions, callgrind).
    if (this.view !== this.slabView) this.view = this.slabView;
    this.at = at;
    // The next message starts right after this one: a turn's answers then lie back to back, and the socket's writer
    // sends them as one view of the slab instead of a copy (src/controller/write-batcher.ts).
    this.next = at + length;
    const slab = this.slab;
    slab.unreleased++;
    const out: OwnedMessage = new SlabBuffer(this.memory, at, length);
    out.memoryOwner = slab;
    return out as Buffer;
  }

  /** An emptied full slab: kept for reuse while the pool has room. */
  recycle(slab: Slab): void {
    if (this.pool.length < POOLED_SLABS) this.pool.push(slab);
  }

  /** The current slab is full: the next is one from the pool, else new memory. */
  private nextSlab(): void {
    const full = this.slab;
    full.full = true;
    if (full.unreleased === 0) this.recycle(full);
    let slab = this.pool.pop();
    if (slab === undefined) {
      slab = new Slab(unzeroed(this.slabBytes), this);
      this.slabsMade++;
    } else {
      slab.full = false;
      this.slabsReused++;
    }
    this.slab = slab;
    this.memory = slab.memory;
    this.slabView = slab.view;
    this.next = 0;
  }
}

/** One slab's memory, and how many messages cut from it their writers have not released yet. */
class Slab {
  readonly view: DataView<ArrayBuffer>;
  /** Messages cut from this slab and not released: while one is, its bytes may still be read (a socket's write). */
  unreleased = 0;
  /** No more messages are cut from it (one did not fit). */
  full = false;

  constructor(
    readonly memory: ArrayBuffer,
    private readonly home: MessageSlab,
  ) {
    this.view = new DataView(memory);
  }

  /** A message cut from this slab is done with: called once per message, through releaseMessage. */
  release(): void {
    if (--this.unreleased === 0 && this.full) this.home.recycle(this);
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
