import { isLent, releaseMessage } from '../openflow/lent-memory';

/** The part of a socket the batcher writes to; a net.Socket or tls.TLSSocket fits. */
export interface WritableSink {
  /** `done` is called once the socket has finished with the chunk's bytes (sent, or failed: either way, let go). */
  write(chunk: Buffer, done?: (err?: Error | null) => void): boolean;
  /** Writes between cork() and uncork() leave in one system call (a net.Socket's writev). */
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

export interface WriteBatcherOptions {
  /** Bytes we may hold (ours plus the socket's own buffer) before the peer counts as unable to keep up. */
  maxQueuedBytes: number;
  /** Called once when the bound is crossed; the owner disconnects the peer. */
  onOverflow: (queuedBytes: number) => void;
  /** Called when the sink stops taking data (true) and again when it drains (false). */
  onBackpressure?: (blocked: boolean) => void;
  /** How a flush is deferred; setImmediate batches everything produced in one event-loop turn. */
  defer?: (fn: () => void) => void;
}

/**
 * Collects the messages produced during one event-loop turn and hands them to the socket as one write (of one Buffer,
 * or of two views corked: see joined), so a handler's flow_mods and packet_out leave together, in order. While the
 * socket refuses data, messages wait here (order kept) until 'drain'.
 *
 * A queued chunk is the batcher's: messages cut from the message slab (src/flows/memory-view.ts) are released, each
 * once, in the write's callback (after the kernel has the bytes; not when write() returns, since the socket may still
 * hold them), or at once when they are dropped unwritten; their slab's memory is then used again instead of new memory.
 */
export class WriteBatcher {
  private pending = new Batch();
  private pendingBytes = 0;
  /** Whether a pending chunk is a slab message, to be released once written. */
  private pendingPooled = false;
  /**
   * Flushed batches with slab messages, oldest first, each waiting for its write's callback: a stream calls them in
   * the order of the writes, so the one callback (onWritten, made once) releases the oldest. Bounded by the socket's
   * queue, which maxQueuedBytes bounds.
   */
  private readonly written: Batch[] = [];
  /** Emptied batches, reused: a flush makes no closure and grows no new array (gc16, docs/benchmarks.md). */
  private readonly spare: Batch[] = [];
  private flushScheduled = false;
  private blocked = false;
  private closed = false;
  private overflowed = false;
  private bytesWritten = 0;
  private readonly defer: (fn: () => void) => void;
  private readonly onDrain = (): void => {
    this.blocked = false;
    this.opts.onBackpressure?.(false);
    this.flush();
  };
  private readonly onWritten = (): void => {
    const batch = this.written.shift();
    if (batch === undefined) return;
    batch.clear(true);
    this.toSpare(batch);
  };
  private readonly onDeferred = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly sink: WritableSink,
    private readonly opts: WriteBatcherOptions,
  ) {
    this.defer = opts.defer ?? ((fn) => setImmediate(fn));
  }

  /** Bytes waiting here plus the bytes the socket has accepted but not yet sent. */
  get queuedBytes(): number {
    return this.pendingBytes + this.sink.writableLength;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Total bytes handed to the socket so far. */
  get totalBytesWritten(): number {
    return this.bytesWritten;
  }

  enqueue(chunk: Buffer): void {
    if (this.closed || this.overflowed) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (isLent(chunk)) this.pendingPooled = true;
    if (this.queuedBytes > this.opts.maxQueuedBytes) {
      this.overflowed = true;
      const queued = this.queuedBytes;
      this.discard();
      this.opts.onOverflow(queued);
      return;
    }
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      this.defer(this.onDeferred);
    }
  }

  /** Writes what is pending now, without waiting for the end of the turn (a chunk's answers; before closing). */
  flush(): void {
    if (this.closed || this.blocked || this.pending.count === 0) return;
    const batch = this.pending;
    const pooled = this.pendingPooled;
    const views = batch.count === 1 ? undefined : joined(batch.chunks, batch.count, this.pendingBytes);
    // Released in the callback of the last write (a stream calls it after the first's).
    if (pooled) this.written.push(batch);
    const done = pooled ? this.onWritten : undefined;
    this.bytesWritten += this.pendingBytes;
    this.pending = this.spare.pop() ?? new Batch();
    this.pendingBytes = 0;
    this.pendingPooled = false;
    let accepted: boolean;
    if (views === undefined) accepted = this.sink.write(batch.chunks[0], done);
    else if (views.length === 1) accepted = this.sink.write(views[0], done);
    else {
      // Both views in one system call; each is written (the socket queues what it cannot send yet, 'drain' follows).
      this.sink.cork();
      accepted = this.sink.write(views[0]);
      accepted = this.sink.write(views[1], done) && accepted;
      this.sink.uncork();
    }
    if (!pooled) {
      batch.clear(false);
      this.toSpare(batch);
    }
    if (!accepted) {
      this.blocked = true;
      this.sink.once('drain', this.onDrain);
      this.opts.onBackpressure?.(true);
    }
  }

  /** Drops whatever has not been written and stops accepting more. */
  close(): void {
    this.discard();
    this.closed = true;
    this.sink.removeListener('drain', this.onDrain);
  }

  private discard(): void {
    // Never handed to the socket: nothing else reads them.
    this.pending.clear(this.pendingPooled);
    this.pendingBytes = 0;
    this.pendingPooled = false;
  }

  private toSpare(batch: Batch): void {
    if (this.spare.length < SPARE_BATCHES) this.spare.push(batch);
  }
}

/** Emptied batches kept for reuse, at most. */
const SPARE_BATCHES = 4;
const NO_CHUNK = Buffer.alloc(0);

/**
 * Chunks in slots 0 to `count`: the array is kept and written over, never shrunk, so a batch reused grows no storage.
 */
class Batch {
  readonly chunks: Buffer[] = [];
  count = 0;

  push(chunk: Buffer): void {
    this.chunks[this.count++] = chunk;
  }

  /** Empties the batch (its slots let go of their chunks), releasing its slab messages first when `release`. */
  clear(release: boolean): void {
    for (let i = 0; i < this.count; i++) {
      if (release) releaseMessage(this.chunks[i]);
      this.chunks[i] = NO_CHUNK;
    }
    this.count = 0;
  }
}

/** A flush writes at most this many views (corked: one system call); chunks in more pieces of memory are copied into one. */
const MAX_VIEWS = 2;

/**
 * The chunks as at most MAX_VIEWS Buffers: a view over each run of chunks that lie back to back in one memory (a turn's
 * answers cut from the message slab, src/flows/memory-view.ts; two runs where the slab ran out mid-turn), else one
 * copy. A view saves the copy and, more, its allocation: a copy over 4 KB is memory of its own outside V8's heap, and
 * such memory allocated since the last full collection brings the next one sooner (docs/benchmarks.md, issue 16). A
 * chunk is never written again once queued, as when it is written alone.
 */
function joined(chunks: readonly Buffer[], count: number, bytes: number): Buffer[] {
  const views: Buffer[] = [];
  let first = chunks[0];
  let end = first.byteOffset + first.length;
  let runBytes = first.length;
  for (let i = 1; i < count; i++) {
    const chunk = chunks[i];
    if (chunk.byteOffset === end && chunk.buffer === first.buffer) {
      end += chunk.length;
      runBytes += chunk.length;
      continue;
    }
    if (views.length === MAX_VIEWS - 1) return [Buffer.concat(chunks.slice(0, count), bytes)];
    views.push(Buffer.from(first.buffer, first.byteOffset, runBytes));
    first = chunk;
    end = chunk.byteOffset + chunk.length;
    runBytes = chunk.length;
  }
  views.push(Buffer.from(first.buffer, first.byteOffset, runBytes));
  return views;
}
