// ovs-vswitchd's answer to `dpctl/dump-conntrack`, decoded as its bytes arrive: a unixctl reply is one JSON-RPC object
// whose "result" is the whole listing as one JSON string (~250 bytes a connection: 25 MB for 100,000). Read whole,
// then JSON.parse'd and split, it blocked vadc's one thread for one long stretch (new connections' packet-ins waited
// behind it, issue 15); here each piece of bytes is decoded, and each line it completes parsed, on its own, so a
// caller that feeds the pieces on separate turns of the event loop blocks it for one piece at a time. Pure: bytes in,
// the dump and the reply's other members out.
import { parseConntrackDump, parseConntrackLine, type ConntrackDump } from '../flows/conntrack-dump';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE, WHITESPACE } from '../ovsdb/json-stream';

const LETTER_N = 0x6e;
const COLON = 0x3a;
const COMMA = 0x2c;
const BACKSLASH_BYTE = Buffer.from('\\');
/** The reply without its listing ("id", "error", the listing's quotes) is small: more is not a unixctl reply. */
const MAX_SHELL_BYTES = 1024 * 1024;
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
  /** The raw (still escaped) bytes of the listing's line being read, as pieces of the chunks. */
  private line: Buffer[] = [];
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
        this.endLine();
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
        if (backslash > run) this.line.push(chunk.subarray(run, backslash));
        if (backslash + 1 === chunk.length) {
          this.listingEscaped = true;
          return chunk.length;
        }
        if (chunk[backslash + 1] === LETTER_N) {
          this.endLine();
          run = backslash + 2;
        } else {
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
      if (quote > run) this.line.push(chunk.subarray(run, quote));
      if (this.line.length) this.endLine();
      this.inListing = false;
      this.addShell(chunk.subarray(quote, quote + 1));
      return quote + 1;
    }
  }

  private endLine(): void {
    const raw = this.line.length === 1 ? this.line[0] : Buffer.concat(this.line);
    let text: string;
    try {
      text = this.lineEscapes ? (JSON.parse(`"${raw.toString('utf8')}"`) as string) : raw.toString('utf8');
    } catch (err) {
      throw new ListingReplyError(`line ${this.lineNo + 1} of the listing: invalid JSON string: ${(err as Error).message}`);
    }
    this.line = [];
    this.lineEscapes = false;
    parseConntrackLine(text, ++this.lineNo, this.dump);
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
