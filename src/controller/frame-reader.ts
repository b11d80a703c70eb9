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

export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);
  private broken = false;
  private requiredVersion?: number;
  private framesRead = 0;

  constructor(private readonly maxMessageLen: number) {}

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.buffered.length;
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
    if (this.broken) return;
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (!this.broken && this.buffered.length >= HEADER_LEN) {
      const version = this.buffered[0];
      const type = this.buffered[1];
      const length = this.buffered.readUInt16BE(2);
      const xid = this.buffered.readUInt32BE(4);
      const problem = this.checkHeader(version, type, length);
      if (problem) {
        // A bad header leaves no way to find the next frame: the stream is lost.
        this.broken = true;
        const header = Buffer.from(this.buffered.subarray(0, HEADER_LEN));
        this.buffered = Buffer.alloc(0);
        yield { ok: false, ...problem, header, xid };
        return;
      }
      if (this.buffered.length < length) break;
      const bytes = this.buffered.subarray(0, length);
      this.buffered = this.buffered.subarray(length);
      this.framesRead++;
      yield { ok: true, frame: { version, type, length, xid, bytes } };
    }
    // Copy the leftover so the frames handed out do not pin a large receive buffer.
    if (this.buffered.length > 0) this.buffered = Buffer.from(this.buffered);
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
