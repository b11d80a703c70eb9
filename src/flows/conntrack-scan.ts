/**
 * The tracker listing's usual line read straight from its bytes: no string for the line, no regular-expression match
 * or substring per field (issue 15: a listing of 5,000 read each second was the garbage behind vadc's GC pauses in the
 * first-packet tail). What it takes is exactly what OVS prints for an IPv4 TCP or UDP connection, e.g.
 *
 *   tcp,orig=(src=A,dst=B,sport=P,dport=Q),reply=(src=C,dst=D,sport=R,dport=S),id=0,zone=Z,status=0,mark=M,
 *     protoinfo=(state_orig=X,state_reply=Y,wscale_orig=7,wscale_reply=7,flags_orig=F,flags_reply=G)
 *
 * and it gives the same entry parseConntrackLine would. Anything else (an IPv6 tuple, an escape, a field it does not
 * know the shape of, whatever parseConntrackLine would call malformed) it declines, and the caller hands the line's
 * text to parseConntrackLine, which reads it or says why not. Pure: bytes in, an entry pushed onto the dump.
 */
import { oneState as oneStateOf, TCP_STATE_ORDER, type ConntrackDump, type ConntrackEntry } from './conntrack-dump';

const COMMA = 0x2c;
const EQUALS = 0x3d;
const OPEN = 0x28;
const CLOSE = 0x29;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const PIPE = 0x7c;

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const ORIG = ascii('orig=(');
const REPLY = ascii(',reply=(');
const SRC = ascii('src=');
const DST = ascii('dst=');
const SPORT = ascii('sport=');
const DPORT = ascii('dport=');
const STATE = ascii('state=');
const STATE_ORIG = ascii('state_orig=');
const STATE_REPLY = ascii('state_reply=');
const WSCALE_ORIG = ascii('wscale_orig=');
const WSCALE_REPLY = ascii('wscale_reply=');
const FLAGS_ORIG = ascii('flags_orig=');
const FLAGS_REPLY = ascii('flags_reply=');
const WINDOW_SCALE = ascii('WINDOW_SCALE');

/** OVS's TCP state names (ct-dpif.h), each kept once: an entry's state is one of these strings, not a new one. */
const TCP_STATES = TCP_STATE_ORDER;
const TCP_STATE_BYTES = TCP_STATES.map(ascii);
/** The one state OVS prints without -m for two sides (the text parser's oneState), by the sides' indexes. */
const ONE_STATE: string[][] = TCP_STATES.map((orig) => TCP_STATES.map((reply) => oneStateOf(orig, reply)));

/** Where the last read ended, and the number or name it read (one scanner runs at a time: vadc has one thread). */
let at = 0;
let value = 0;

/** Byte p of a line ending at e is c (never a byte past the line: a reused buffer holds older lines there). */
function is(b: Uint8Array, p: number, e: number, c: number): boolean {
  return p < e && b[p] === c;
}

function isUpperNameByte(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= DIGIT_0 && c <= 0x39) || c === 0x5f;
}

function startsWith(b: Uint8Array, p: number, e: number, word: Uint8Array): boolean {
  if (e - p < word.length) return false;
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return false;
  return true;
}

/** Decimal digits from p (1..maxDigits of them) into `value`, `at` after them; false when there are none or too many. */
function digits(b: Uint8Array, p: number, e: number, maxDigits: number): boolean {
  let v = 0;
  let n = 0;
  while (p < e && b[p] >= DIGIT_0 && b[p] <= DIGIT_0 + 9) {
    if (++n > maxDigits) return false;
    v = v * 10 + (b[p++] - DIGIT_0);
  }
  value = v;
  at = p;
  return n > 0;
}

/** A dotted quad (1-3 digits an octet, as ipv4ToUint32 takes it) into `value`. */
function ipv4(b: Uint8Array, p: number, e: number): boolean {
  let v = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (p >= e || b[p] !== DOT) return false;
      p++;
    }
    if (!digits(b, p, e, 3) || value > 255) return false;
    v = v * 256 + value;
    p = at;
  }
  value = v;
  at = p;
  return true;
}

/** `key=` then a port (1-5 digits, at most 65535), then `end`. */
function port(b: Uint8Array, p: number, e: number, key: Uint8Array, end: number): boolean {
  if (!startsWith(b, p, e, key) || !digits(b, p + key.length, e, 5) || value > 0xffff) return false;
  if (!is(b, at, e, end)) return false;
  at++;
  return true;
}

/** A tuple in OVS's order, `src=A,dst=B,sport=P,dport=Q)`, into out[0..3]; `at` after its `)`. */
function tuple(b: Uint8Array, p: number, e: number, out: number[]): boolean {
  if (!startsWith(b, p, e, SRC) || !ipv4(b, p + SRC.length, e) || !is(b, at, e, COMMA)) return false;
  out[0] = value;
  if (!startsWith(b, at + 1, e, DST) || !ipv4(b, at + 1 + DST.length, e) || !is(b, at, e, COMMA)) return false;
  out[1] = value;
  if (!port(b, at + 1, e, SPORT, COMMA)) return false;
  out[2] = value;
  if (!port(b, at, e, DPORT, CLOSE)) return false;
  out[3] = value;
  return true;
}

/** A TCP state name from p, as an index of TCP_STATES (-1: not one); `at` after it. */
function stateName(b: Uint8Array, p: number, e: number): number {
  let q = p;
  while (q < e && isUpperNameByte(b[q])) q++;
  at = q;
  for (let i = 0; i < TCP_STATE_BYTES.length; i++) {
    const name = TCP_STATE_BYTES[i];
    if (name.length === q - p && startsWith(b, p, e, name)) return i;
  }
  return -1;
}

/** `[A-Z_0-9|]*` from p; `at` after it; whether WINDOW_SCALE is in it. */
function flags(b: Uint8Array, p: number, e: number): boolean {
  let q = p;
  while (q < e && (isUpperNameByte(b[q]) || b[q] === PIPE)) q++;
  at = q;
  for (let i = p; i + WINDOW_SCALE.length <= q; i++) if (startsWith(b, i, q, WINDOW_SCALE)) return true;
  return false;
}

const orig = [0, 0, 0, 0];
const reply = [0, 0, 0, 0];

/**
 * Reads line bytes [s, e) into `dump`: true when done with it (an entry pushed, or a line vadc skips: empty, or not
 * TCP or UDP), false when the caller must give its text to parseConntrackLine.
 */
export function scanConntrackLine(b: Uint8Array, s: number, e: number, dump: ConntrackDump): boolean {
  if (s === e) return true;
  // The text parser trims the line first: edges it would trim, or any byte beyond ASCII, are its to read.
  if (b[s] <= 0x20 || b[e - 1] <= 0x20 || b[s] >= 0x7f || b[e - 1] >= 0x7f) return false;
  const proto = e - s >= 4 && b[s + 3] === COMMA ? protoAt(b, s) : undefined;
  // Not TCP or UDP (ICMP, SCTP...): not vadc's, skipped as the text parser skips it.
  if (proto === undefined) return true;
  if (!startsWith(b, s + 4, e, ORIG) || !tuple(b, s + 4 + ORIG.length, e, orig)) return false;
  if (!startsWith(b, at, e, REPLY) || !tuple(b, at + REPLY.length, e, reply)) return false;
  if (!is(b, at, e, COMMA)) return false;
  return rest(b, at + 1, e, proto, dump);
}

function protoAt(b: Uint8Array, s: number): 'tcp' | 'udp' | undefined {
  if (b[s] === 0x74 && b[s + 1] === 0x63 && b[s + 2] === 0x70) return 'tcp';
  if (b[s] === 0x75 && b[s + 1] === 0x64 && b[s + 2] === 0x70) return 'udp';
  return undefined;
}

/** The fields after the tuples, `key=value` with plain values and protoinfo's parentheses, each read at most once. */
function rest(b: Uint8Array, p: number, e: number, proto: 'tcp' | 'udp', dump: ConntrackDump): boolean {
  let zone = -1;
  let mark = -1;
  let status = -1; // -1 none; 0: empty or "0"; 1: named flags
  let origState = -1;
  let replyState = -1;
  let oneState = -1;
  let origScales = false;
  let replyScales = false;
  let seenProtoinfo = false;
  while (p < e) {
    const keyStart = p;
    while (p < e && ((b[p] >= 0x61 && b[p] <= 0x7a) || b[p] === 0x5f)) p++;
    if (p === keyStart || p >= e || b[p] !== EQUALS) return false;
    const key = keyOf(b, keyStart, p);
    p++;
    if (key === 'protoinfo') {
      if (seenProtoinfo || !is(b, p, e, OPEN)) return false;
      seenProtoinfo = true;
      p++;
      if (startsWith(b, p, e, STATE)) {
        oneState = stateName(b, p + STATE.length, e);
        if (oneState < 0) return false;
      } else {
        if (!startsWith(b, p, e, STATE_ORIG) || (origState = stateName(b, p + STATE_ORIG.length, e)) < 0 || !is(b, at, e, COMMA)) return false;
        if (!startsWith(b, at + 1, e, STATE_REPLY) || (replyState = stateName(b, at + 1 + STATE_REPLY.length, e)) < 0 || !is(b, at, e, COMMA)) return false;
        p = at + 1;
        if (startsWith(b, p, e, WSCALE_ORIG)) {
          if (!digits(b, p + WSCALE_ORIG.length, e, 15) || !is(b, at, e, COMMA)) return false;
          if (!startsWith(b, at + 1, e, WSCALE_REPLY) || !digits(b, at + 1 + WSCALE_REPLY.length, e, 15) || !is(b, at, e, COMMA)) return false;
          p = at + 1;
        }
        if (!startsWith(b, p, e, FLAGS_ORIG)) return false;
        origScales = flags(b, p + FLAGS_ORIG.length, e);
        if (!is(b, at, e, COMMA) || !startsWith(b, at + 1, e, FLAGS_REPLY)) return false;
        replyScales = flags(b, at + 1 + FLAGS_REPLY.length, e);
      }
      if (!is(b, at, e, CLOSE)) return false;
      p = at + 1;
    } else if (key === 'zone' && zone < 0) {
      if (!digits(b, p, e, 15)) return false;
      zone = value;
      p = at;
    } else if (key === 'mark' && mark < 0) {
      if (e - p > 2 && b[p] === DIGIT_0 && b[p + 1] === 0x78) {
        if (!hex(b, p + 2, e)) return false;
      } else if (!digits(b, p, e, 15)) return false;
      mark = value >>> 0;
      p = at;
    } else if (key === 'status' && status < 0) {
      const from = p;
      while (p < e && (isUpperNameByte(b[p]) || b[p] === PIPE)) p++;
      status = p === from || (p - from === 1 && b[from] === DIGIT_0) ? 0 : 1;
    } else {
      // Any other field (id, timeout, labels, a repeated one): plain printable bytes the text parser ignores.
      while (p < e && b[p] > 0x20 && b[p] < 0x7f && b[p] !== COMMA && b[p] !== OPEN && b[p] !== CLOSE && b[p] !== EQUALS) p++;
    }
    if (p < e) {
      if (b[p] !== COMMA || p + 1 === e) return false;
      p++;
    }
  }
  const entry: ConntrackEntry = {
    proto,
    orig: { src: orig[0], dst: orig[1], sport: orig[2], dport: orig[3] },
    reply: { src: reply[0], dst: reply[1], sport: reply[2], dport: reply[3] },
    zone: zone < 0 ? 0 : zone,
    mark: mark < 0 ? 0 : mark,
  };
  if (oneState >= 0) entry.state = TCP_STATES[oneState];
  else if (origState >= 0) {
    entry.state = ONE_STATE[origState][replyState];
    entry.sides = { orig: TCP_STATES[origState], reply: TCP_STATES[replyState], origScales, replyScales };
    if (status === 1) entry.kernelStatus = true;
  }
  dump.entries.push(entry);
  return true;
}

/** The field names the scanner reads, by their bytes (no string made for the others). */
function keyOf(b: Uint8Array, s: number, e: number): 'zone' | 'mark' | 'status' | 'protoinfo' | undefined {
  const n = e - s;
  if (n === 4 && b[s] === 0x7a && b[s + 1] === 0x6f && b[s + 2] === 0x6e && b[s + 3] === 0x65) return 'zone';
  if (n === 4 && b[s] === 0x6d && b[s + 1] === 0x61 && b[s + 2] === 0x72 && b[s + 3] === 0x6b) return 'mark';
  if (n === 6 && startsWith(b, s, e, STATUS_KEY)) return 'status';
  if (n === 9 && startsWith(b, s, e, PROTOINFO_KEY)) return 'protoinfo';
  return undefined;
}

const STATUS_KEY = ascii('status');
const PROTOINFO_KEY = ascii('protoinfo');

/** Hex digits from p (1..13 of them: exact in a double) into `value`, `at` after them. */
function hex(b: Uint8Array, p: number, e: number): boolean {
  let v = 0;
  let n = 0;
  for (; p < e; p++) {
    const c = b[p];
    const d = c >= DIGIT_0 && c <= DIGIT_0 + 9 ? c - DIGIT_0 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) break;
    if (++n > 13) return false;
    v = v * 16 + d;
  }
  value = v;
  at = p;
  return n > 0;
}
