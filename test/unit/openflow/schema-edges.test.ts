// The declaration language (src/openflow/schema.ts) through its own API: small structures declared here, encoded
// and decoded against bytes written out by hand, with each refusal's path and reason. The codec's messages are
// declared in it; these cases reach what no OpenFlow structure does at its edges (a u24, a length of exactly
// 65535, a fixed run after a variable item, a writer that starts at one byte, a dirty writer's padding).
import { OfpDecodeError, OfpEncodeError } from '../../../src/openflow';
import {
  bytes, compileStruct, custom, ipv4, ipv6, len16, list, mac, numbers, pad, sizedList, str, tag16, tag32, u16, u24, u32,
  u32s, u64, u8, union, value,
} from '../../../src/openflow/schema';
import type { Codec, Item } from '../../../src/openflow/schema';
import { Writer, cursor } from '../../../src/openflow/wire';

/** Encodes into a writer that starts at `size` bytes (so every item must make room), as hex. */
function enc(codec: Codec, v: unknown, size = 1): string {
  const w = new Writer(size);
  codec.enc(w, v, 'v');
  return w.buf.subarray(0, w.pos).toString('hex');
}
/** Decodes the bytes at offset 8 of a buffer; `next` is where the decoder left the cursor, counted from the value. */
function dec(codec: Codec, hex: string): { v: unknown; next: number } {
  const b = Buffer.concat([Buffer.alloc(8, 0xee), Buffer.from(hex, 'hex')]);
  const v = codec.dec(b, 8, b.length);
  return { v, next: cursor.pos - 8 };
}
function decodeError(codec: Codec, hex: string): { reason: string; offset: number } {
  try { dec(codec, hex); } catch (e) {
    if (e instanceof OfpDecodeError) return { reason: e.reason, offset: e.offset };
    throw e;
  }
  throw new Error('decode did not fail');
}
function encodeError(codec: Codec, v: unknown): { path: string; reason: string } {
  try { enc(codec, v, 64); } catch (e) {
    if (e instanceof OfpEncodeError) return { path: e.path, reason: e.reason };
    throw e;
  }
  throw new Error('encode did not fail');
}
/** A 2-byte value kind that is not a structure: a variable item to the compiler. */
const two = custom<number>('two', 2,
  (b, o) => { cursor.pos = o + 2; return b.readUInt16BE(o); },
  (w, v) => { w.ensure(2); w.buf.writeUInt16BE(v, w.pos); w.pos += 2; });

describe('scalars', () => {
  const scalars = compileStruct({ name: 'scalars', items: [u8('a'), u16('b'), u24('c'), u32('d'), u64('e'), mac('f'), ipv4('g'), ipv6('h')] });
  const value1 = { a: 0x81, b: 0x8203, c: 0x840506, d: 0xf708090a, e: 0x8b0c0d0e0f101112n, f: '93:14:15:16:17:18', g: '225.26.27.28', h: '2001:db8::1d' };
  const hex1 = '81' + '8203' + '840506' + 'f708090a' + '8b0c0d0e0f101112' + '931415161718' + 'e11a1b1c' + '20010db8' + '00'.repeat(10) + '001d';

  it('each type at its own width, big-endian, both ways', () => {
    expect(hex1).toHaveLength(88);
    expect(enc(scalars, value1)).toBe(hex1);
    expect(dec(scalars, hex1)).toEqual({ v: value1, next: 44 });
    const top = { a: 0xff, b: 0xffff, c: 0xffffff, d: 0xffffffff, e: 2n ** 64n - 1n, f: 'ff:ff:ff:ff:ff:ff', g: '255.255.255.255', h: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' };
    expect(enc(scalars, top)).toBe('ff'.repeat(44));
    expect(dec(scalars, 'ff'.repeat(44)).v).toEqual(top);
    const zero = { a: 0, b: 0, c: 0, d: 0, e: 0n, f: '00:00:00:00:00:00', g: '0.0.0.0', h: '::' };
    expect(enc(scalars, zero)).toBe('00'.repeat(44));
  });

  it('refuses each value out of its range or of the wrong kind, naming the field', () => {
    const bad = (field: string, v: unknown) => encodeError(scalars, { ...value1, [field]: v });
    expect(bad('a', 256)).toEqual({ path: 'scalars.a', reason: 'expected u8, got 256' });
    expect(bad('a', 1.5)).toEqual({ path: 'scalars.a', reason: 'expected u8, got 1.5' });
    expect(bad('b', 0x10000)).toEqual({ path: 'scalars.b', reason: 'expected u16, got 65536' });
    expect(bad('c', 0x1000000)).toEqual({ path: 'scalars.c', reason: 'expected u24, got 16777216' });
    expect(bad('c', -1)).toEqual({ path: 'scalars.c', reason: 'expected u24, got -1' });
    expect(bad('d', -1)).toEqual({ path: 'scalars.d', reason: 'expected u32, got -1' });
    expect(bad('d', 2 ** 32)).toEqual({ path: 'scalars.d', reason: 'expected u32, got 4294967296' });
    expect(bad('e', 5)).toEqual({ path: 'scalars.e', reason: 'expected u64 bigint, got 5' });
    expect(bad('e', -1n)).toEqual({ path: 'scalars.e', reason: 'expected u64 bigint, got -1n' });
    expect(bad('e', 2n ** 64n)).toEqual({ path: 'scalars.e', reason: 'expected u64 bigint, got 18446744073709551616n' });
    expect(bad('f', 'x')).toEqual({ path: 'scalars.f', reason: "expected a MAC address 'aa:bb:cc:dd:ee:ff', got x" });
    expect(bad('g', '1.2.3')).toEqual({ path: 'scalars.g', reason: 'expected a dotted-quad IPv4 address, got 1.2.3' });
    expect(bad('h', 'zz')).toEqual({ path: 'scalars.h', reason: 'expected an IPv6 address, got zz' });
    expect(encodeError(scalars, null)).toEqual({ path: 'v', reason: 'expected an object, got null' });
    expect(encodeError(scalars, 7)).toEqual({ path: 'v', reason: 'expected an object, got 7' });
  });

  it('refuses fewer bytes than the fixed head', () => {
    expect(decodeError(scalars, '00'.repeat(43))).toEqual({ reason: 'scalars truncated: 43 bytes left, needs 44', offset: 8 });
  });

  it('lets an address field\'s error that is no encode error through as it is (a value whose text conversion throws)', () => {
    const boom = new RangeError('no text for this value');
    const unprintable = { toString(): string { throw boom; } };
    for (const field of ['f', 'g', 'h']) {
      let thrown: unknown;
      try { enc(scalars, { ...value1, [field]: unprintable }); } catch (e) { thrown = e; }
      expect(thrown).toBe(boom);
    }
  });
});

describe('fixed runs after variable items', () => {
  // a, x (variable), then a run b c, then y (variable), then a run d + 2 pad bytes.
  const runs = compileStruct({ name: 'runs', items: [u8('a'), value('x', two), u16('b'), u32('c'), value('y', two), u8('d'), pad(2)] });
  const v = { a: 1, x: 0x0203, b: 0x0405, c: 0x06070809, y: 0x0a0b, d: 0x0c };
  const hex = '01' + '0203' + '0405' + '06070809' + '0a0b' + '0c' + '0000';

  it('encodes each run into a writer that grows, and decodes them', () => {
    expect(enc(runs, v)).toBe(hex);
    expect(dec(runs, hex)).toEqual({ v, next: 14 });
  });

  it('checks each run once it starts, with the run\'s size', () => {
    expect(decodeError(runs, '01' + '0203' + '0405')).toEqual({ reason: 'runs truncated: 2 bytes left, needs 6', offset: 11 });
    expect(decodeError(runs, hex.slice(0, 24))).toEqual({ reason: 'runs truncated: 1 bytes left, needs 3', offset: 19 });
  });

  it('counts only the head and the variable items\' minimums as the structure\'s minimum', () => {
    expect(runs.min).toBe(5);
  });
});

describe('the length field', () => {
  const counted = compileStruct({ name: 'counted', typeName: 'c', items: [tag16(9), len16(8, true), u8('a')] });
  const uncounted = compileStruct({ name: 'uncounted', typeName: 'u', items: [tag16(9), len16(8, false), u8('a')] });
  const plain = compileStruct({ name: 'plain', items: [u8('a'), len16(1), bytes('rest')] });

  it('align 8 counting the padding: length 8; up to 7 bytes after the body are padding, 8 are not', () => {
    expect(enc(counted, { type: 'c', a: 5 })).toBe('0009000805000000');
    expect(dec(counted, '0009000805000000')).toEqual({ v: { type: 'c', a: 5 }, next: 8 });
    expect(dec(counted, '000900060500').next).toBe(6);
    expect(dec(counted, '0009000c0500000000000000').next).toBe(12);
    expect(decodeError(counted, '00090010' + '05' + '00'.repeat(11))).toEqual({ reason: 'counted has 11 unexpected trailing bytes', offset: 13 });
  });

  it('align 8 not counting it: length 5, the next structure after the padding', () => {
    expect(enc(uncounted, { type: 'u', a: 5 })).toBe('0009000505000000');
    expect(dec(uncounted, '0009000505000000')).toEqual({ v: { type: 'u', a: 5 }, next: 8 });
    expect(decodeError(uncounted, '0009000605000000')).toEqual({ reason: 'uncounted has 1 unexpected trailing bytes', offset: 13 });
    expect(decodeError(uncounted, '000900050500')).toEqual({ reason: 'uncounted padding length 8 overflows its container (6 bytes left)', offset: 8 });
  });

  it('align 1: no padding; the length at its fixed offset', () => {
    expect(enc(plain, { a: 7, rest: Buffer.from('abcd', 'hex') })).toBe('070005abcd');
    expect(dec(plain, '070005abcdee')).toEqual({ v: { a: 7, rest: Buffer.from('abcd', 'hex') }, next: 5 });
    expect(decodeError(plain, '070002')).toEqual({ reason: 'plain length 2 is shorter than its minimum 3', offset: 8 });
    expect(decodeError(plain, '070009abcd')).toEqual({ reason: 'plain length 9 overflows its container (5 bytes left)', offset: 8 });
  });

  it('takes 65535 bytes and refuses more, padding included when it counts', () => {
    const countedBytes = compileStruct({ name: 'cb', items: [len16(8, true), bytes('d')] });
    const uncountedBytes = compileStruct({ name: 'ub', items: [len16(8, false), bytes('d')] });
    expect(enc(uncountedBytes, { d: Buffer.alloc(65533) }).slice(0, 4)).toBe('ffff');
    expect(encodeError(uncountedBytes, { d: Buffer.alloc(65534) })).toEqual({ path: 'v', reason: 'length 65536 does not fit in 16 bits' });
    expect(encodeError(countedBytes, { d: Buffer.alloc(65533) })).toEqual({ path: 'v', reason: 'length 65536 does not fit in 16 bits' });
    expect(enc(countedBytes, { d: Buffer.alloc(65526) }).slice(0, 4)).toBe('fff8');
  });

  it('align 8 counts the padding unless told otherwise', () => {
    const byDefault = compileStruct({ name: 'by default', typeName: 'c', items: [tag16(9), len16(8), u8('a')] });
    expect(enc(byDefault, { type: 'c', a: 5 })).toBe('0009000805000000');
    expect(dec(byDefault, '000900060500').next).toBe(6);
  });

  it('align 1 with fixed fields only: bytes the fields do not take are refused, and countsPad changes nothing', () => {
    const fixedOnly = compileStruct({ name: 'fixed', items: [u8('a'), len16(1), u16('b')] });
    const moot = compileStruct({ name: 'moot', items: [u8('a'), len16(1, false), u16('b')] });
    for (const codec of [fixedOnly, moot]) {
      expect(enc(codec, { a: 1, b: 2 })).toBe('0100050002');
      expect(dec(codec, '0100050002')).toEqual({ v: { a: 1, b: 2 }, next: 5 });
      expect(decodeError(codec, '0100080002' + 'eeeeee')).toEqual({ reason: `${codec.name} has 3 unexpected trailing bytes`, offset: 13 });
    }
  });

  it('decodes to the fields alone without a typeName, and to the type first with one', () => {
    const untyped = compileStruct({ name: 'untyped', items: [u8('a'), len16(1), u16('b')] });
    expect(Object.keys(dec(untyped, '0100050002').v as object)).toEqual(['a', 'b']);
    expect(Object.keys(dec(counted, '0009000805000000').v as object)).toEqual(['type', 'a']);
  });

  it('must sit at a fixed offset', () => {
    expect(() => compileStruct({ name: 'late', items: [value('x', two), len16(1)] })).toThrow(new Error('late: the length field must be at a fixed offset'));
  });
});

describe('strings, arrays, numbers, tags and padding', () => {
  const misc = compileStruct({ name: 'misc', items: [tag32(0x01020304), str('s', 4), u32s('m', 2), pad(10), u8('z'), pad(3), numbers('n', 4)] });
  const v = { s: 'abc', m: [5, 0xffffffff], z: 9, n: [1, 0x80000000] };
  const hex = '01020304' + '61626300' + '00000005ffffffff' + '00'.repeat(10) + '09' + '000000' + '0000000180000000';

  it('both ways, and padding written as zeros over what the writer held', () => {
    expect(enc(misc, v)).toBe(hex);
    const w = new Writer(64);
    w.buf.fill(0xff);
    misc.enc(w, v, 'v');
    expect(w.buf.subarray(0, w.pos).toString('hex')).toBe(hex);
    expect(dec(misc, hex)).toEqual({ v, next: hex.length / 2 });
  });

  it('refuses a string too long, an array of the wrong size or values, and numbers that are not u32 or not whole', () => {
    expect(encodeError(misc, { ...v, s: 'abcde' })).toEqual({ path: 'misc.s', reason: 'string longer than 4 bytes' });
    expect(encodeError(misc, { ...v, s: 5 })).toEqual({ path: 'misc.s', reason: 'expected a string' });
    expect(encodeError(misc, { ...v, m: [1, 2, 3] })).toEqual({ path: 'misc.m', reason: 'expected array of 2 u32, got 1,2,3' });
    expect(encodeError(misc, { ...v, m: 5 })).toEqual({ path: 'misc.m', reason: 'expected array of 2 u32, got 5' });
    expect(encodeError(misc, { ...v, m: [1, -1] })).toEqual({ path: 'misc.m[1]', reason: 'expected u32, got -1' });
    expect(encodeError(misc, { ...v, n: 5 })).toEqual({ path: 'misc.n', reason: 'expected an array' });
    expect(encodeError(misc, { ...v, n: [1, 2 ** 32] })).toEqual({ path: 'misc.n', reason: 'expected u32, got 4294967296' });
    expect(decodeError(misc, hex + '0102')).toEqual({ reason: 'misc n has 2 unexpected trailing bytes', offset: 38 });
  });

  it('numbers of one byte', () => {
    const octets = compileStruct({ name: 'octets', items: [numbers('n', 1)] });
    expect(enc(octets, { n: [1, 255, 0] })).toBe('01ff00');
    expect(dec(octets, '01ff00')).toEqual({ v: { n: [1, 255, 0] }, next: 3 });
    expect(encodeError(octets, { n: [256] })).toEqual({ path: 'octets.n', reason: 'expected u8, got 256' });
  });
});

describe('lists', () => {
  const member = union<unknown>({ name: 'thing', peekSize: 2, peek: (b, o) => b.readUInt16BE(o) });
  member.register(1, 'one', compileStruct({ name: 'thing one', typeName: 'one', items: [tag16(1), u16('v')] }));
  const sized = compileStruct({ name: 'sized', items: [u8('a'), sizedList('l', two, 4), bytes('rest')] });
  const listed = compileStruct({ name: 'listed', items: [u8('a'), list('l', member)] });

  it('a list preceded by its byte length and padding, then the rest', () => {
    const v = { a: 1, l: [0x0102, 0x0304], rest: Buffer.from('ff', 'hex') };
    expect(enc(sized, v)).toBe('01' + '0004' + '00000000' + '0102' + '0304' + 'ff');
    expect(dec(sized, '01' + '0004' + '00000000' + '0102' + '0304' + 'ff')).toEqual({ v, next: 12 });
    expect(decodeError(sized, '01' + '0006' + '00000000' + '0102' + '0304')).toEqual({ reason: 'sized l length 6 overflows its container (4 bytes left)', offset: 9 });
    expect(encodeError(sized, { a: 1, l: new Array(32768).fill(1), rest: Buffer.alloc(0) })).toEqual({ path: 'sized.l', reason: 'length 65536 does not fit in 16 bits' });
    expect(encodeError(sized, { a: 1, l: 'x', rest: Buffer.alloc(0) })).toEqual({ path: 'sized.l', reason: 'expected an array' });
  });

  it('counts the list\'s length field and padding in the structure\'s minimum', () => {
    expect(sized.min).toBe(7);
    const headed = compileStruct({ name: 'headed', items: [len16(1), sizedList('l', two, 4)] });
    expect(headed.min).toBe(8);
    expect(decodeError(headed, '0007' + '0000' + '000000')).toEqual({ reason: 'headed length 7 is shorter than its minimum 8', offset: 8 });
    expect(dec(headed, '0008' + '0000' + '00000000')).toEqual({ v: { l: [] }, next: 8 });
  });

  it('makes room for an empty list\'s length and padding at the end, and writes them as zeros over what the writer held', () => {
    const tail = compileStruct({ name: 'tail', items: [u8('a'), sizedList('l', two, 4)] });
    expect(enc(tail, { a: 1, l: [] })).toBe('01' + '0000' + '00000000');
    const w = new Writer(64);
    w.buf.fill(0xff);
    sized.enc(w, { a: 1, l: [0x0102], rest: Buffer.from('ee', 'hex') }, 'v');
    expect(w.buf.subarray(0, w.pos).toString('hex')).toBe('01' + '0002' + '00000000' + '0102' + 'ee');
  });

  it('a list to the end: the element\'s index in a refusal that names the list, not in one that names the element', () => {
    expect(enc(listed, { a: 2, l: [{ type: 'one', v: 3 }, { type: 'one', v: 4 }] })).toBe('02' + '00010003' + '00010004');
    expect(dec(listed, '02' + '00010003')).toEqual({ v: { a: 2, l: [{ type: 'one', v: 3 }] }, next: 5 });
    expect(encodeError(listed, { a: 2, l: [{ type: 'one', v: 3 }, { type: 'two' }] })).toEqual({ path: 'listed.l[1]', reason: 'unknown thing type two' });
    expect(encodeError(listed, { a: 2, l: [{ type: 'one', v: 3 }, { type: 'one', v: -1 }] })).toEqual({ path: 'thing one.v', reason: 'expected u16, got -1' });
    expect(encodeError(listed, { a: 2, l: {} })).toEqual({ path: 'listed.l', reason: 'expected an array' });
    expect(decodeError(listed, '02' + '000500')).toEqual({ reason: 'unknown thing type 5', offset: 9 });
  });

  it('refuses an element that takes no bytes', () => {
    const nothing = custom<number>('nothing', 0, (b, o) => { cursor.pos = o; return 0; }, () => undefined);
    const endless = compileStruct({ name: 'endless', items: [u8('a'), list('l', nothing)] });
    expect(decodeError(endless, '0102')).toEqual({ reason: 'endless l element of zero length', offset: 9 });
    const hollow = compileStruct({ name: 'hollow', items: [sizedList('l', nothing, 0)] });
    expect(decodeError(hollow, '0002' + '0102')).toEqual({ reason: 'hollow l element of zero length', offset: 10 });
  });
});

describe('unions', () => {
  const made = () => {
    const u = union<unknown>({
      name: 'shape', peekSize: 2, peek: (b, o) => b.readUInt16BE(o), typeKey: 'kind',
      fallback: (key) => (key === 0xff ? other : undefined), describeKey: (key) => `code ${key}`,
    });
    const square = compileStruct({ name: 'shape square', typeName: 'square', typeKey: 'kind', items: [tag16(1), u16('side')] });
    const other = compileStruct({ name: 'shape other', typeName: 'other', typeKey: 'kind', items: [u16('code')] });
    u.register(1, 'square', square);
    u.register(2, 'square', other); // a second key for a name keeps the first one's codec and key
    return { u, square, other };
  };

  it('decodes by key, encodes by name (its own type property), falls back, and says which key it does not know', () => {
    const { u, square, other } = made();
    expect(dec(u, '00010007')).toEqual({ v: { kind: 'square', side: 7 }, next: 4 });
    expect(enc(u, { kind: 'square', side: 7 })).toBe('00010007');
    expect(dec(u, '00ff')).toEqual({ v: { kind: 'other', code: 0xff }, next: 2 });
    expect(decodeError(u, '00030000')).toEqual({ reason: 'unknown shape code 3', offset: 8 });
    expect(decodeError(u, '00')).toEqual({ reason: 'shape truncated: 1 bytes left, needs 2', offset: 8 });
    expect([u.memberByKey(1), u.memberByKey(2), u.memberByKey(3)]).toEqual([square, other, undefined]);
    expect([u.keyOf('square'), u.keyOf('other')]).toEqual([1, undefined]);
    expect(u.memberFor({ kind: 'square' })).toBe(square);
    expect(u.memberFor({ type: 'square' })).toBeUndefined();
    expect(u.min).toBe(2);
  });

  it('refuses a key registered twice, what is not an object and a name it does not know', () => {
    const { u, square } = made();
    expect(() => u.register(1, 'again', square)).toThrow(new Error('shape: key 1 registered twice'));
    expect(encodeError(u, 5)).toEqual({ path: 'v', reason: 'expected a shape object, got 5' });
    expect(encodeError(u, null)).toEqual({ path: 'v', reason: 'expected a shape object, got null' });
    expect(encodeError(u, { kind: 'circle' })).toEqual({ path: 'v', reason: 'unknown shape type circle' });
    expect(encodeError(u, { type: 'square' })).toEqual({ path: 'v', reason: 'unknown shape type undefined' });
  });

  it('without a describer the key is a type; with a selector it picks the member', () => {
    const plain = union<unknown>({ name: 'plain', peekSize: 1, peek: (b, o) => b[o] });
    expect(decodeError(plain, '09')).toEqual({ reason: 'unknown plain type 9', offset: 8 });
    const only = compileStruct({ name: 'only', items: [u8('x')] });
    const chosen = union<unknown>({ name: 'chosen', peekSize: 1, peek: (b, o) => b[o], select: (v) => (v.x === 1 ? only : undefined) });
    expect(enc(chosen, { x: 1 })).toBe('01');
    expect(chosen.memberFor({ x: 1 })).toBe(only);
    expect(encodeError(chosen, { x: 2, type: 'only' })).toEqual({ path: 'v', reason: 'unknown chosen type only' });
  });
});

describe('declarations from untyped code', () => {
  // Declarations are data (design rule 1): one built by hand or cast past the types must fail when compiled, with the
  // structure, position, kind and scalar type named, not with a bare error from deep inside the generator.
  it('refuses an item kind or a scalar type the language lacks when compiling, naming the table entry', () => {
    expect(() => compileStruct({ name: 'odd', items: [u8('a'), { kind: 'blob', name: 'b' } as unknown as Item] }))
      .toThrow(new Error("struct 'odd': item 1 'b' is \"blob\", which the struct compiler does not know"));
    expect(() => compileStruct({ name: 'wide', items: [{ kind: 'scalar', name: 'w', type: 'u128' } as unknown as Item] }))
      .toThrow(new Error("struct 'wide': item 0 'w' is \"scalar\" of type \"u128\", which the struct compiler does not know"));
  });
});
