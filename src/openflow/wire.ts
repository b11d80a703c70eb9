// Byte-level helpers shared by the compiled codecs: a growable writer and the text forms of addresses.
import { OfpDecodeError, OfpEncodeError } from './errors';
import { formatIpv6, parseIpv6 } from '../net/ipv6';

/** Bytes of one slab; an encoded message is a view into it (like Node's own Buffer pool, but larger). */
const SLAB_SIZE = 64 * 1024;
/** Below this much room left, the next message starts a fresh slab instead of likely growing mid-message. */
const SLAB_MIN_ROOM = 4 * 1024;

/**
 * Output buffer for encoders, used as a slab allocator: each message is written once, directly at `base`,
 * and handed out as a view (`finish`), so no per-message allocation of its own and no copy. Views are
 * never overwritten: `base` only moves forward and a full slab is replaced, not reused.
 * One module-level instance is shared by encode() and the flow-mod templates (encoding is synchronous).
 */
export class Writer {
  buf: Buffer;
  /** Start of the message being written. */
  base = 0;
  pos = 0;
  constructor(initialSize = SLAB_SIZE) {
    this.buf = Buffer.allocUnsafeSlow(initialSize);
  }
  /** Starts a message of at least `minSize` bytes; returns its start offset. */
  begin(minSize: number): number {
    if (this.buf.length - this.base < Math.max(minSize, SLAB_MIN_ROOM)) {
      this.buf = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, minSize));
      this.base = 0;
    }
    this.pos = this.base;
    return this.base;
  }
  /** Ends the message at `pos` and returns it as a view; the next message starts 8-aligned after it. */
  finish(): Buffer {
    const out = this.buf.subarray(this.base, this.pos);
    this.base = (this.pos + 7) & ~7;
    return out;
  }
  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    // Positions already handed to encoders (length fields, nested starts) stay valid: same offsets.
    const grown = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, this.base, this.base, this.pos);
    this.buf = grown;
  }
  zeros(count: number): void {
    this.ensure(count);
    const b = this.buf;
    // Padding is 1-7 bytes almost always; a store loop beats Buffer.fill's argument handling there.
    if (count <= 16) for (let i = 0; i < count; i++) b[this.pos + i] = 0;
    else b.fill(0, this.pos, this.pos + count);
    this.pos += count;
  }
  bytes(data: Buffer, path: string): void {
    if (!Buffer.isBuffer(data)) throw new OfpEncodeError(path, 'expected a Buffer');
    this.ensure(data.length);
    data.copy(this.buf, this.pos);
    this.pos += data.length;
  }
}

/** Decode-side cursor: a codec's dec() returns its value and leaves the next offset here (no tuple allocation). */
export const cursor = { pos: 0 };

const u64Scratch = new BigUint64Array(1);
const u64Bytes = new Uint8Array(u64Scratch.buffer);
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Big-endian u64 of an already range-checked bigint, without the BigInt shifts that allocate. */
export function writeU64(b: Buffer, p: number, v: bigint): void {
  u64Scratch[0] = v;
  if (littleEndian) for (let i = 0; i < 8; i++) b[p + i] = u64Bytes[7 - i];
  else for (let i = 0; i < 8; i++) b[p + i] = u64Bytes[i];
}

// The last u64 readU64 made (0 <-> 0n to begin with): returned again while the bytes are the same.
let lastHigh = 0;
let lastLow = 0;
let lastU64 = 0n;

/**
 * Big-endian u64 at p (the caller has checked the bounds). A value equal to the last one read is that same BigInt: a
 * packet-in's cookie is nearly always the one before's (the flow that sent it), and each new BigInt is an allocation
 * (Buffer.readBigUInt64BE: two BigInt() calls, a shift and an add per packet-in). A new value is made in one typed
 * array load.
 */
export function readU64(b: Buffer, p: number): bigint {
  const high = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  const low = (b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7];
  if (high === lastHigh && low === lastLow) return lastU64;
  if (littleEndian) for (let i = 0; i < 8; i++) u64Bytes[7 - i] = b[p + i];
  else for (let i = 0; i < 8; i++) u64Bytes[i] = b[p + i];
  lastHigh = high;
  lastLow = low;
  lastU64 = u64Scratch[0];
  return lastU64;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function readMac(b: Buffer, p: number): string {
  return `${HEX[b[p]]}:${HEX[b[p + 1]]}:${HEX[b[p + 2]]}:${HEX[b[p + 3]]}:${HEX[b[p + 4]]}:${HEX[b[p + 5]]}`;
}

/** Value of one hex digit char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

// Address text is parsed by char codes: this runs for every MAC/IPv4 OXM value of every flow-mod encoded.
export function writeMac(b: Buffer, p: number, mac: unknown, path: string): void {
  if (typeof mac === 'string' && mac.length === 17) {
    let i = 0;
    for (; i < 6; i++) {
      const at = 3 * i;
      const hi = hexDigit(mac.charCodeAt(at));
      const lo = hexDigit(mac.charCodeAt(at + 1));
      if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(at + 2) !== 58)) break;
      b[p + i] = (hi << 4) | lo;
    }
    if (i === 6) return;
  }
  throw new OfpEncodeError(path, `expected a MAC address 'aa:bb:cc:dd:ee:ff', got ${String(mac)}`);
}

export function readIpv4(b: Buffer, p: number): string {
  return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
}

export function writeIpv4(b: Buffer, p: number, ip: unknown, path: string): void {
  if (typeof ip === 'string' && ip.length >= 7 && ip.length <= 15) {
    let octet = 0;
    let digits = 0;
    let part = 0;
    let ok = true;
    for (let i = 0; i <= ip.length && ok; i++) {
      const c = i < ip.length ? ip.charCodeAt(i) : 46;
      if (c >= 48 && c <= 57) {
        octet = octet * 10 + c - 48;
        ok = ++digits <= 3 && octet <= 255;
      } else if (c === 46 && digits > 0 && part < 4) {
        b[p + part++] = octet;
        octet = 0;
        digits = 0;
      } else {
        ok = false;
      }
    }
    if (ok && part === 4) return;
  }
  throw new OfpEncodeError(path, `expected a dotted-quad IPv4 address, got ${String(ip)}`);
}

/** RFC 5952 text (the one implementation in src/net). */
export function readIpv6(b: Buffer, p: number): string {
  return formatIpv6(b, p);
}

export function writeIpv6(b: Buffer, p: number, ip: unknown, path: string): void {
  let bytes: Uint8Array;
  try {
    if (typeof ip !== 'string') throw new Error('not a string');
    bytes = parseIpv6(ip);
  } catch {
    throw new OfpEncodeError(path, `expected an IPv6 address, got ${String(ip)}`);
  }
  b.set(bytes, p);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Fixed-size NUL-padded UTF-8 string field. Invalid UTF-8 is a decode error: lenient decoding would
 * replace bytes and the string could then no longer be re-encoded to the same bytes.
 */
export function readFixedString(b: Buffer, p: number, size: number): string {
  let end = p;
  const limit = p + size;
  let ascii = true;
  while (end < limit && b[end] !== 0) { if (b[end] > 0x7f) ascii = false; end++; }
  if (ascii) return b.toString('latin1', p, end);
  try {
    return strictUtf8.decode(b.subarray(p, end));
  } catch {
    throw new OfpDecodeError('string field is not valid UTF-8', p);
  }
}

export function writeFixedString(b: Buffer, p: number, size: number, text: unknown, path: string): void {
  if (typeof text !== 'string') throw new OfpEncodeError(path, 'expected a string');
  const n = b.write(text, p, size, 'utf8');
  if (Buffer.byteLength(text, 'utf8') > size) throw new OfpEncodeError(path, `string longer than ${size} bytes`);
  b.fill(0, p + n, p + size);
}
