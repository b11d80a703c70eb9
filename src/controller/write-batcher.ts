/** The part of a socket the batcher writes to; a net.Socket or tls.TLSSocket fits. */
export interface WritableSink {
  write(chunk: Buffer): boolean;
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
 * Collects the messages produced during one event-loop turn and hands them to the socket as one
 * Buffer, so a handler's flow_mods and packet_out leave in one write, in order. While the socket
 * refuses data, messages wait here (order kept) until 'drain'.
 */
export class WriteBatcher {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
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
    if (this.queuedBytes > this.opts.maxQueuedBytes) {
      this.overflowed = true;
      const queued = this.queuedBytes;
      this.discard();
      this.opts.onOverflow(queued);
      return;
    }
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      this.defer(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Writes what is pending now, without waiting for the end of the turn (a chunk's answers; before closing). */
  flush(): void {
    if (this.closed || this.blocked || this.pending.length === 0) return;
    const batch = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.bytesWritten += batch.length;
    if (!this.sink.write(batch)) {
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
    this.pending = [];
    this.pendingBytes = 0;
  }
}
