// Stream framer: turns TCP chunks (any split, any coalescing) into whole OpenFlow messages.
import { decode } from './codec';
import { OfpDecodeError, OfpFramingError } from './errors';
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN } from './constants';
import type { OfpMessage } from './types';

export type FramedItem =
  | { kind: 'message'; message: OfpMessage; bytes: Buffer }
  /** A well-framed message whose body did not decode; the stream carries on after it. */
  | { kind: 'decode_error'; error: OfpDecodeError; bytes: Buffer }
  /** A header the framer cannot accept; `fatal` means the stream cannot be resynchronised. */
  | { kind: 'framing_error'; error: OfpFramingError; fatal: boolean };

export interface FramerOptions {
  /** Largest accepted message; longer ones are skipped and reported (default 65535). */
  maxMessageSize?: number;
}

export class OfpFramer {
  private pending: Buffer = Buffer.alloc(0);
  private consumed = 0; // stream offset of pending[0]
  private skipRemaining = 0; // bytes of an oversized message still to drop
  private broken = false;
  readonly maxMessageSize: number;

  constructor(opts: FramerOptions = {}) {
    this.maxMessageSize = opts.maxMessageSize ?? OFP_MAX_MESSAGE_LEN;
    if (!Number.isInteger(this.maxMessageSize) || this.maxMessageSize < OFP_HEADER_LEN) {
      throw new RangeError(`maxMessageSize must be an integer >= ${OFP_HEADER_LEN}`);
    }
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.pending.length;
  }

  /** True after a fatal framing error: the caller should close the connection. */
  get isBroken(): boolean {
    return this.broken;
  }

  push(chunk: Buffer): FramedItem[] {
    const out: FramedItem[] = [];
    if (this.broken) return out;
    let data = chunk;
    if (this.skipRemaining > 0) {
      const drop = Math.min(this.skipRemaining, data.length);
      this.skipRemaining -= drop;
      this.consumed += drop;
      data = data.subarray(drop);
    }
    let buf = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    let p = 0;
    while (buf.length - p >= OFP_HEADER_LEN) {
      const length = buf.readUInt16BE(p + 2);
      if (length < OFP_HEADER_LEN) {
        // No sane length: we cannot find the next header, so the stream is unusable from here.
        out.push({ kind: 'framing_error', fatal: true, error: new OfpFramingError(`header length ${length} is shorter than the header`, this.consumed + p) });
        this.broken = true;
        this.pending = Buffer.alloc(0);
        return out;
      }
      if (length > this.maxMessageSize) {
        out.push({ kind: 'framing_error', fatal: false, error: new OfpFramingError(`message length ${length} exceeds the maximum ${this.maxMessageSize}`, this.consumed + p) });
        const available = Math.min(length, buf.length - p);
        this.skipRemaining = length - available;
        p += available;
        continue;
      }
      if (buf.length - p < length) break;
      const bytes = buf.subarray(p, p + length);
      try {
        out.push({ kind: 'message', message: decode(bytes), bytes });
      } catch (err) {
        out.push({ kind: 'decode_error', error: err as OfpDecodeError, bytes });
      }
      p += length;
    }
    this.consumed += p;
    buf = buf.subarray(p);
    // Copy the leftover so a caller reusing its chunk buffer cannot change what we hold.
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    return out;
  }
}
