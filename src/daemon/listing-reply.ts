// ovs-vswitchd's answer to `dpctl/dump-conntrack`, decoded as its bytes arrive: a unixctl reply is one JSON-RPC object
// whose "result" is the whole listing as one JSON string (~250 bytes a connection: 25 MB for 100,000). Read whole,
// then JSON.parse'd and split, it blocked vadc's one thread for one long stretch (new connections' packet-ins waited
// behind it, issue 15); here each piece of bytes is decoded, and each line it completes parsed, on its own, so a
// caller that feeds the pieces on separate turns of the event loop blocks it for one piece at a time. Pure: bytes in,
// the dump and the reply's other members out.
import { parseConntrackDump, parseConntrackLine, type ConntrackDump } from '../flows/conntrack-dump';
import { scanConntrackLine } from '../flows/conntrack-scan';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE, WHITESPACE } from '../ovsdb/json-stream';

const LETTER_N = 0x6e;
const COLON = 0x3a;
const COMMA = 0x2c;
const BACKSLASH_BYTE = Buffer.from('\\');
/** The reply without its listing ("id", "error", the listing's quotes) is small: more is not a unixctl reply. */
const MAX_SHELL_BYTES = 1024 * 1024;
/** The most room kept for putting lines that span chunks together. */
const MAX_KEPT_JOIN_BYTES = 64 * 1024;
/** Longer keys are not "result" (nor any key of a unixctl reply): not kept. */
const MAX_KEY_BYTES = 16;

export class ListingReplyError extends Error {
  override readonly name = 'ListingReplyError';
}

export interface ListingReply {
  id: unknown;
  error: unknown;
  /** Whether "result" was a string (the listing, decoded into `dump`). */
  listed: boolean;
  /** "result" when it was not a string (null beside an error). */
  other?: unknown;
  dump: ConntrackDump;
}

export class ListingReplyDecoder {
  private readonly dump: ConntrackDump = { entries: [], malformed: [] };
  /** The reply's bytes but the listing's text: parsed once complete. */
  private shell: Buffer[] = [];
  private shellBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private expectKey = false;
  /** The bytes of the key (at the object's top level) being read; undefined when not in a key. */
  private key: number[] | undefined;
  private lastKey = '';
  /** The key whose value comes next (after its colon); '' when none. */
  private valueOf = '';
  private inListing = false;
  private listed = false;
  private listingEscaped = false;
  /** The raw (still escaped) bytes of the listing's line being read, as pieces of earlier chunks (a line that starts and ends in one chunk is read where it is). */
  private readonly line: Buffer[] = [];
  /** Where a line that spans chunks is put together (grown as needed, kept: no buffer per line). */
  private joined = Buffer.alloc(1024);
  private lineEscapes = false;
  private lineNo = 0;
  private complete = false;

  /** Feeds the next bytes; true once the reply is complete. Throws ListingReplyError on what is not a unixctl reply. */
  push(chunk: Buffer): boolean {
    if (this.complete) throw new ListingReplyError('bytes after the reply');
    let i = 0;
    while (i < chunk.length && !this.complete) i = this.inListing ? this.listing(chunk, i) : this.structure(chunk, i);
    for (; i < chunk.length; i++) if (!WHITESPACE.has(chunk[i])) throw new ListingReplyError('bytes after the reply');
    return this.complete;
  }

  /** The complete reply. */
  reply(): ListingReply {
    if (!this.complete) throw new ListingReplyError('the reply is not complete');
    let parsed: { id?: unknown; error?: unknown; result?: unknown };
    try {
      parsed = JSON.parse(Buffer.concat(this.shell, this.shellBytes).toString('utf8')) as typeof parsed;
    } catch (err) {
      throw new ListingReplyError(`invalid JSON: ${(err as Error).message}`);
    }
    // A "result" key spelt with escapes was not recognised on the way: its string is in the shell, parsed here whole.
    if (!this.listed && typeof parsed.result === 'string') return { id: parsed.id, error: parsed.error, listed: true, dump: parseConntrackDump(parsed.result) };
    const reply: ListingReply = { id: parsed.id, error: parsed.error ?? null, listed: this.listed, dump: this.dump };
    if (!this.listed) reply.other = parsed.result ?? null;
    return reply;
  }

  /** The listing's text from `from`: runs of plain bytes go to the line, `\n` escapes end lines, the quote ends the text. */
  private listing(chunk: Buffer, from: number): number {
    let run = from;
    let i = from;
    if (this.listingEscaped) {
      this.listingEscaped = false;
      if (chunk[i] === LETTER_N) {
        this.endLine(chunk, i, i);
        run = i + 1;
      } else {
        // Any other escape stays in the line (decoded with it); its second byte is never the closing quote.
        this.line.push(BACKSLASH_BYTE);
        this.lineEscapes = true;
      }
      i++;
    }
    let quote = chunk.indexOf(QUOTE, i);
    for (;;) {
      const backslash = chunk.indexOf(BACKSLASH, i);
      if (backslash >= 0 && (quote < 0 || backslash < quote)) {
        if (backslash + 1 === chunk.length) {
          if (backslash > run) this.line.push(chunk.subarray(run, backslash));
          this.listingEscaped = true;
          return chunk.length;
        }
        if (chunk[backslash + 1] === LETTER_N) {
          this.endLine(chunk, run, backslash);
          run = backslash + 2;
        } else {
          if (backslash > run) this.line.push(chunk.subarray(run, backslash));
          this.line.push(BACKSLASH_BYTE);
          this.lineEscapes = true;
          run = backslash + 1;
        }
        i = backslash + 2;
        // An escaped quote was the one found: look again past it.
        if (quote >= 0 && quote < i) quote = chunk.indexOf(QUOTE, i);
        continue;
      }
      if (quote < 0) {
        if (chunk.length > run) this.line.push(chunk.subarray(run));
        return chunk.length;
      }
      if (quote > run || this.line.length) this.endLine(chunk, run, quote);
      this.inListing = false;
      this.addShell(chunk.subarray(quote, quote + 1));
      return quote + 1;
    }
  }

  /**
   * The line ends with bytes [from, to) of `chunk` (after any pieces of earlier chunks): read from its bytes where it
   * has no escapes (scanConntrackLine, no string made), else, or where the scanner declines it, from its text.
   */
  private endLine(chunk: Buffer, from: number, to: number): void {
    const lineNo = ++this.lineNo;
    let bytes = chunk;
    let start = from;
    let end = to;
    if (this.line.length) {
      if (to > from) this.line.push(chunk.subarray(from, to));
      bytes = this.join();
      start = 0;
      end = this.joinedBytes;
      this.line.length = 0;
    }
    // A long line's room is not kept (lines are ~300 bytes; a peer's line may be up to the answer's bound).
    if (this.joined.length > MAX_KEPT_JOIN_BYTES) this.joined = Buffer.alloc(1024);
    if (!this.lineEscapes && scanConntrackLine(bytes, start, end, this.dump)) return;
    const raw = bytes.toString('utf8', start, end);
    let text: string;
    try {
      text = this.lineEscapes ? (JSON.parse(`"${raw}"`) as string) : raw;
    } catch (err) {
      throw new ListingReplyError(`line ${lineNo} of the listing: invalid JSON string: ${(err as Error).message}`);
    } finally {
      this.lineEscapes = false;
    }
    parseConntrackLine(text, lineNo, this.dump);
  }

  private joinedBytes = 0;

  /** The line's pieces copied one after another into `joined`. */
  private join(): Buffer {
    let total = 0;
    for (const piece of this.line) total += piece.length;
    if (total > this.joined.length) this.joined = Buffer.alloc(Math.max(total, 2 * this.joined.length));
    let at = 0;
    for (const piece of this.line) at += piece.copy(this.joined, at);
    this.joinedBytes = total;
    return this.joined;
  }

  /** The reply's own JSON from `from` until the listing starts or the reply ends: copied to the shell. */
  private structure(chunk: Buffer, from: number): number {
    for (let i = from; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.key) this.lastKey = String.fromCharCode(...this.key);
          this.key = undefined;
          continue;
        }
        if (this.key && this.key.length < MAX_KEY_BYTES) this.key.push(c);
        continue;
      }
      if (WHITESPACE.has(c)) continue;
      if (this.depth === 0 && c !== OPEN_BRACE) throw new ListingReplyError(`unexpected byte 0x${c.toString(16).padStart(2, '0')}: a unixctl reply is a JSON object`);
      if (c === QUOTE) {
        if (this.depth === 1 && this.valueOf === 'result') {
          this.addShell(chunk.subarray(from, i + 1));
          this.valueOf = '';
          this.inListing = true;
          this.listed = true;
          return i + 1;
        }
        this.inString = true;
        if (this.depth === 1 && this.expectKey) {
          this.key = [];
          this.expectKey = false;
        }
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++;
        this.expectKey = this.depth === 1;
        this.valueOf = '';
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          this.addShell(chunk.subarray(from, i + 1));
          this.complete = true;
          return i + 1;
        }
      } else if (this.depth === 1 && c === COLON) {
        this.valueOf = this.lastKey;
      } else if (this.depth === 1 && c === COMMA) {
        this.expectKey = true;
        this.valueOf = '';
      }
    }
    this.addShell(chunk.subarray(from));
    return chunk.length;
  }

  private addShell(bytes: Buffer): void {
    this.shellBytes += bytes.length;
    if (this.shellBytes > MAX_SHELL_BYTES) throw new ListingReplyError(`more than ${MAX_SHELL_BYTES} bytes besides the listing`);
    this.shell.push(bytes);
  }
}
