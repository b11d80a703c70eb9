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
  | { ok: false; problem: 'bad_length' | 'bad_version'; reason: string; header: Buffer; xid: number };

export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);
  private broken = false;
  private requiredVersion?: number;

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

  push(chunk: Buffer): FrameResult[] {
    if (this.broken) return [];
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const results: FrameResult[] = [];
    let offset = 0;
    while (this.buffered.length - offset >= HEADER_LEN) {
      const version = this.buffered[offset];
      const length = this.buffered.readUInt16BE(offset + 2);
      const xid = this.buffered.readUInt32BE(offset + 4);
      const problem = this.checkHeader(version, length);
      if (problem) {
        // A bad header leaves no way to find the next frame: the stream is lost.
        this.broken = true;
        const header = Buffer.from(this.buffered.subarray(offset, offset + HEADER_LEN));
        results.push({ ok: false, ...problem, header, xid });
        this.buffered = Buffer.alloc(0);
        return results;
      }
      if (this.buffered.length - offset < length) break;
      const bytes = this.buffered.subarray(offset, offset + length);
      results.push({ ok: true, frame: { version: bytes[0], type: bytes[1], length, xid, bytes } });
      offset += length;
    }
    // Copy the leftover so the frames handed out do not pin a large receive buffer forever.
    this.buffered = offset === 0 ? this.buffered : Buffer.from(this.buffered.subarray(offset));
    return results;
  }

  private checkHeader(version: number, length: number): { problem: 'bad_length' | 'bad_version'; reason: string } | undefined {
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
