/**
 * Splits a byte stream into whole JSON texts. OVSDB peers send JSON-RPC objects back to back with no
 * framing, so a value may arrive split at any byte or several may arrive in one chunk. The scanner
 * tracks nesting and string state byte by byte (UTF-8 continuation bytes never equal the ASCII
 * delimiters it looks for) and hands each complete value to JSON.parse. Leftover bytes are kept.
 */
import { OvsdbProtocolError } from './errors';

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class JsonStreamParser {
  private pending: Buffer = Buffer.alloc(0);
  /** How far into `pending` the scanner has already looked (so each byte is scanned once). */
  private scanned = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Bytes consumed before `pending` starts, for error offsets. */
  private consumed = 0;
  private failed: OvsdbProtocolError | undefined;

  constructor(readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** Bytes received but not yet part of a complete value. */
  get bufferedBytes(): number {
    return this.pending.length;
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

  private scan(chunk: Buffer, values: unknown[]): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;
    let i = this.scanned;
    for (; i < this.pending.length; i++) {
      const byte = this.pending[i];
      if (i + 1 - start > this.maxMessageBytes) {
        return this.fail(`message exceeds the limit of ${this.maxMessageBytes} bytes`, start);
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
          return this.fail(`unexpected byte 0x${byte.toString(16).padStart(2, '0')} between messages`, i);
        }
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          values.push(this.parse(start, i + 1));
          start = i + 1;
        }
      }
    }
    this.consumed += start;
    this.pending = this.pending.subarray(start);
    this.scanned = i - start;
  }

  private parse(start: number, end: number): unknown {
    const text = this.pending.toString('utf8', start, end);
    try {
      return JSON.parse(text);
    } catch (err) {
      return this.fail(`invalid JSON: ${(err as Error).message}`, start);
    }
  }

  private fail(reason: string, index: number): never {
    this.failed = new OvsdbProtocolError(reason, this.consumed + index);
    this.pending = Buffer.alloc(0);
    throw this.failed;
  }

  /** Set once the stream is broken; values completed before the bad bytes were still returned. */
  get failure(): OvsdbProtocolError | undefined {
    return this.failed;
  }
}
