/**
 * Splits a byte stream into whole OpenFlow frames by the 8-byte header's length field, keeping
 * leftover bytes. The runtime needs each frame's raw bytes (to read a hello of any version, to check
 * the version byte before decoding, and to quote the offending bytes in an error reply), so it frames
 * before it decodes.
 */

const HEADER_LEN = 8;

export interface RawFrame {
  version: number;
  type: number;
  length: number;
  xid: number;
  bytes: Buffer;
}

export type FrameResult =
  | { ok: true; frame: RawFrame }
  /** The stream cannot be framed any further; `header` holds the bad header. */
  | { ok: false; problem: FrameProblem; reason: string; header: Buffer; xid: number };

export type FrameProblem = 'bad_length' | 'bad_version' | 'not_hello';
const OFPT_HELLO = 0;
const EMPTY = Buffer.alloc(0);

export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);
  private broken = false;
  private requiredVersion?: number;
  private framesRead = 0;
  /** While a chunk is read: where in `buffered` the frames not yet handed out start. */
  private cursor = 0;
  /** While a chunk is read: its bytes after those that completed the frame pending before it (see append). */
  private rest: Buffer = EMPTY;

  constructor(private readonly maxMessageLen: number) {}

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.buffered.length - this.cursor + this.rest.length;
  }

  /**
   * From now on a header with another version is an error as soon as its 8 bytes arrive, without
   * waiting for a body whose length may be garbage too (hello, the only version-free message, is over).
   */
  requireVersion(version: number): void {
    this.requiredVersion = version;
  }

  /**
   * Adds bytes and yields the whole frames now available, lazily: a requireVersion() call made
   * while handling one frame applies to the next.
   */
  *read(chunk: Buffer): Generator<FrameResult> {
    if (!this.append(chunk)) return;
    try {
      for (let result = this.nextFrame(); result !== undefined; result = this.nextFrame()) yield result;
    } finally {
      this.keepRest();
    }
  }

  /**
   * Like read(), with a callback instead of a generator (the session's per-chunk path): `onResult` is
   * called for each frame in order, and may return false to stop (the rest stays pending).
   */
  forEachFrame(chunk: Buffer, onResult: (result: FrameResult) => boolean): void {
    if (!this.append(chunk)) return;
    try {
      for (let result = this.nextFrame(); result !== undefined; result = this.nextFrame()) {
        if (!onResult(result)) return;
      }
    } finally {
      this.keepRest();
    }
  }

  /**
   * Joins the chunk to what is pending; false when the stream is already lost. A frame cut between two chunks is made
   * whole from the chunk's first bytes only, and the chunk's rest read where it lies: joining the whole chunk would copy
   * tens of KB per read into memory outside V8's heap, which brings the next mark-compact sooner (docs/benchmarks.md).
   */
  private append(chunk: Buffer): boolean {
    if (this.broken) return false;
    const pending = this.buffered;
    const need = pending.length === 0 ? 0 : this.bytesToComplete(pending, chunk);
    if (need > 0 && need < chunk.length) {
      this.buffered = Buffer.concat([pending, chunk.subarray(0, need)]);
      this.rest = chunk.subarray(need);
    } else this.buffered = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    this.cursor = 0;
    return true;
  }

  /**
   * How many of the chunk's first bytes complete the one frame `pending` starts (its header's length; just the header
   * when that length is an error); 0 when that is unknown yet (under 4 bytes) or `pending` holds a whole frame already
   * (a reader stopped early): then the whole chunk is joined.
   */
  private bytesToComplete(pending: Buffer, chunk: Buffer): number {
    const byteAt = (i: number) => (i < pending.length ? pending[i] : chunk[i - pending.length]);
    if (pending.length + chunk.length < 4) return 0;
    const length = (byteAt(2) << 8) | byteAt(3);
    const frameBytes = length < HEADER_LEN || length > this.maxMessageLen ? HEADER_LEN : length;
    return frameBytes > pending.length ? frameBytes - pending.length : 0;
  }

  /** The next frame at the cursor (cut by offset, one subarray per frame), or undefined if none is whole. */
  private nextFrame(): FrameResult | undefined {
    if (this.cursor === this.buffered.length && this.rest.length > 0) {
      // The frame that joined two chunks is handed out: on to the chunk's rest, where it lies.
      this.buffered = this.rest;
      this.rest = EMPTY;
      this.cursor = 0;
    }
    const data = this.buffered;
    const at = this.cursor;
    if (this.broken || data.length - at < HEADER_LEN) return undefined;
    const version = data[at];
    const type = data[at + 1];
    const length = (data[at + 2] << 8) | data[at + 3];
    const xid = data.readUInt32BE(at + 4);
    const problem = this.checkHeader(version, type, length);
    if (problem) {
      // A bad header leaves no way to find the next frame: the stream is lost.
      this.broken = true;
      const header = Buffer.from(data.subarray(at, at + HEADER_LEN));
      this.buffered = EMPTY;
      this.rest = EMPTY;
      this.cursor = 0;
      return { ok: false, ...problem, header, xid };
    }
    if (data.length - at < length) return undefined;
    this.cursor = at + length;
    this.framesRead++;
    return { ok: true, frame: { version, type, length, xid, bytes: data.subarray(at, at + length) } };
  }

  /** Keeps only the bytes not handed out, copied so the frames given out do not pin a large receive buffer. */
  private keepRest(): void {
    const data = this.buffered;
    const at = this.cursor;
    if (this.rest.length > 0) {
      // Stopped before the chunk's rest (a reader that returned false): all of it stays pending.
      this.buffered = Buffer.concat([data.subarray(at), this.rest]);
      this.rest = EMPTY;
    } else this.buffered = at >= data.length ? EMPTY : at === 0 ? Buffer.from(data) : Buffer.from(data.subarray(at));
    this.cursor = 0;
  }

  /** Like read(), all at once. */
  push(chunk: Buffer): FrameResult[] {
    return [...this.read(chunk)];
  }

  private checkHeader(version: number, type: number, length: number): { problem: FrameProblem; reason: string } | undefined {
    // Every OpenFlow connection opens with a hello; anything else is known bad from its header.
    if (this.framesRead === 0 && type !== OFPT_HELLO) {
      return { problem: 'not_hello', reason: `first message is type ${type} (version 0x${version.toString(16)}), not hello` };
    }
    if (this.requiredVersion !== undefined && version !== this.requiredVersion) {
      return { problem: 'bad_version', reason: `version 0x${version.toString(16)} after negotiating 0x${this.requiredVersion.toString(16)}` };
    }
    if (length < HEADER_LEN) return { problem: 'bad_length', reason: `length ${length} is shorter than the 8-byte header` };
    if (length > this.maxMessageLen) {
      return { problem: 'bad_length', reason: `length ${length} exceeds the ${this.maxMessageLen}-byte limit` };
    }
    return undefined;
  }
}
