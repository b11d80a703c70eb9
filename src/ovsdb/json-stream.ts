/**
 * Splits a byte stream into whole JSON texts. OVSDB peers send JSON-RPC objects back to back with no
 * framing, so a value may arrive split at any byte or several may arrive in one chunk. The scanner
 * tracks nesting and string state byte by byte (UTF-8 continuation bytes never equal the ASCII
 * delimiters it looks for) and hands each complete value to JSON.parse. Leftover bytes are kept.
 */
import { OvsdbProtocolError } from './errors';

// JSON's structural bytes (also read by src/daemon/listing-reply.ts).
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class JsonStreamParser {
  /**
   * The bytes of the value still arriving, chunk by chunk as received: joined once, when it completes. (Joining them
   * at every chunk copied a large value over and over: a 18 MB tracker listing in 64 KB chunks took 5 s to frame.)
   */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Bytes received before the current chunk, for error offsets. */
  private consumed = 0;
  private failed: OvsdbProtocolError | undefined;

  constructor(readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** Bytes received but not yet part of a complete value. */
  get bufferedBytes(): number {
    return this.partsBytes;
  }

  /**
   * Adds bytes and returns the complete JSON values now available. Throws OvsdbProtocolError on
   * bytes that cannot start a value, invalid JSON or a value larger than maxMessageBytes; after
   * that the parser stays failed (the stream cannot be resynchronised).
   */
  push(chunk: Buffer): unknown[] {
    if (this.failed) throw this.failed;
    const values: unknown[] = [];
    try {
      this.scan(chunk, values);
    } catch (err) {
      // Hand over what was complete before the bad bytes (a reply and then junk in one chunk);
      // `failure` reports the error and the next push throws it.
      if (values.length > 0 && err === this.failed) return values;
      throw err;
    }
    return values;
  }

  /** Scans each byte once; `start` is where the current value (or the gap before it) begins in this chunk. */
  private scan(chunk: Buffer, values: unknown[]): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.partsBytes + i + 1 - start > this.maxMessageBytes) {
        return this.fail(`message exceeds the limit of ${this.maxMessageBytes} bytes`, this.consumed + start - this.partsBytes);
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (this.depth === 0) {
        if (WHITESPACE.has(byte)) {
          start = i + 1;
          continue;
        }
        if (byte !== OPEN_BRACE && byte !== OPEN_BRACKET) {
          return this.fail(`unexpected byte 0x${byte.toString(16).padStart(2, '0')} between messages`, this.consumed + i);
        }
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const tail = chunk.subarray(start, i + 1);
          const offset = this.consumed + start - this.partsBytes;
          const whole = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail], this.partsBytes + tail.length);
          this.parts = [];
          this.partsBytes = 0;
          values.push(this.parse(whole, offset));
          start = i + 1;
        }
      }
    }
    if (start < chunk.length) {
      this.parts.push(chunk.subarray(start));
      this.partsBytes += chunk.length - start;
    }
    this.consumed += chunk.length;
  }

  private parse(bytes: Buffer, offset: number): unknown {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      return this.fail(`invalid JSON: ${(err as Error).message}`, offset);
    }
  }

  /** `offset`: in the whole stream. */
  private fail(reason: string, offset: number): never {
    this.failed = new OvsdbProtocolError(reason, offset);
    this.parts = [];
    this.partsBytes = 0;
    throw this.failed;
  }

  /** Set once the stream is broken; values completed before the bad bytes were still returned. */
  get failure(): OvsdbProtocolError | undefined {
    return this.failed;
  }
}
