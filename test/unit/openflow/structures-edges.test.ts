// The nested structures (src/openflow/structures.ts) as a caller meets them: each declaration names itself and its
// minimum in a length error, the action union tells Nicira from other experimenter actions by the bytes it has, the
// hello version bitmap spans words, and bad values are refused naming the field. Decoded from offset 8 of a buffer,
// so an offset mix-up shows. Expected names and minimums are written out from the spec's structs (OpenFlow 1.3.5,
// section 7.2), not read from the declarations.
import { decode, encode, OfpDecodeError, OfpEncodeError } from '../../../src/openflow';
import type { Codec } from '../../../src/openflow/schema';
import type { Action, OfpMessage } from '../../../src/openflow';
import {
  actionCodec, actionList, bucketCodec, helloElementCodec, instructionCodec, meterBandCodec, packetQueueCodec, portCodec,
  queuePropertyCodec, tableFeaturePropCodec, tableFeaturesCodec,
} from '../../../src/openflow/structures';
import { Writer } from '../../../src/openflow/wire';

const hex16 = (n: number): string => n.toString(16).padStart(4, '0');
/** The value's bytes (hex) decoded at offset 8 of a buffer; `tail` zero bytes after them. */
function decodeAt8(codec: Codec, hex: string, tail = 0): unknown {
  const b = Buffer.concat([Buffer.alloc(8, 0xee), Buffer.from(hex, 'hex'), Buffer.alloc(tail)]);
  return codec.dec(b, 8, b.length);
}
function decodeError(codec: Codec, hex: string, tail = 0): { reason: string; offset: number } {
  try { decodeAt8(codec, hex, tail); } catch (e) {
    if (e instanceof OfpDecodeError) return { reason: e.reason, offset: e.offset };
    throw e;
  }
  throw new Error('decode did not fail');
}
function encodeError(codec: Codec, v: unknown, path = 'x'): { path: string; reason: string } {
  try { codec.enc(new Writer(64), v, path); } catch (e) {
    if (e instanceof OfpEncodeError) return { path: e.path, reason: e.reason };
    throw e;
  }
  throw new Error('encode did not fail');
}
const encoded = (codec: Codec, v: unknown): string => {
  const w = new Writer(16);
  codec.enc(w, v, 'x');
  return w.buf.subarray(0, w.pos).toString('hex');
};
/** A TLV with the given type and a length field below every minimum, then enough zeros for any fixed head. */
const tlv = (type: number, len: number): string => `${hex16(type)}${hex16(len)}`;

describe('each declaration names itself and its minimum length', () => {
  // [type code, name in errors, minimum length in bytes] as in the spec's structs.
  const cases: [Codec, number, string, number][] = [
    [actionCodec, 0, 'action output', 16],
    [actionCodec, 11, 'action copy_ttl_out', 8],
    [actionCodec, 12, 'action copy_ttl_in', 8],
    [actionCodec, 15, 'action set_mpls_ttl', 8],
    [actionCodec, 16, 'action dec_mpls_ttl', 8],
    [actionCodec, 17, 'action push_vlan', 8],
    [actionCodec, 18, 'action pop_vlan', 8],
    [actionCodec, 19, 'action push_mpls', 8],
    [actionCodec, 20, 'action pop_mpls', 8],
    [actionCodec, 21, 'action set_queue', 8],
    [actionCodec, 22, 'action group', 8],
    [actionCodec, 23, 'action set_nw_ttl', 8],
    [actionCodec, 24, 'action dec_nw_ttl', 8],
    [actionCodec, 25, 'action set_field', 8],
    [actionCodec, 26, 'action push_pbb', 8],
    [actionCodec, 27, 'action pop_pbb', 8],
    [actionCodec, 0xffff, 'action experimenter', 8],
    [instructionCodec, 1, 'instruction goto_table', 8],
    [instructionCodec, 2, 'instruction write_metadata', 24],
    [instructionCodec, 3, 'instruction write_actions', 8],
    [instructionCodec, 4, 'instruction apply_actions', 8],
    [instructionCodec, 5, 'instruction clear_actions', 8],
    [instructionCodec, 6, 'instruction meter', 8],
    [instructionCodec, 0xffff, 'instruction experimenter', 8],
    [meterBandCodec, 1, 'meter band drop', 16],
    [meterBandCodec, 2, 'meter band dscp_remark', 16],
    [meterBandCodec, 0xffff, 'meter band experimenter', 16],
    [queuePropertyCodec, 1, 'queue property min_rate', 16],
    [queuePropertyCodec, 2, 'queue property max_rate', 16],
    [queuePropertyCodec, 0xffff, 'queue property experimenter', 16],
    [tableFeaturePropCodec, 0xfffe, 'table feature property experimenter', 12],
    [tableFeaturePropCodec, 0xffff, 'table feature property experimenter_miss', 12],
  ];
  it.each(cases)('%#: type %i is %s, at least %i bytes', (codec, type, name, min) => {
    expect(decodeError(codec, tlv(type, 4), 64)).toEqual({ reason: `${name} length 4 is shorter than its minimum ${min}`, offset: 8 });
  });

  const fourByteMinimum: [Codec, number, string][] = [
    [helloElementCodec, 1, 'hello element versionbitmap'],
    [helloElementCodec, 7, 'hello element'],
    ...([
      [0, 'instructions'], [1, 'instructions_miss'], [2, 'next_tables'], [3, 'next_tables_miss'], [4, 'write_actions'],
      [5, 'write_actions_miss'], [6, 'apply_actions'], [7, 'apply_actions_miss'], [8, 'match'], [10, 'wildcards'],
      [12, 'write_setfield'], [13, 'write_setfield_miss'], [14, 'apply_setfield'], [15, 'apply_setfield_miss'],
    ] as const).map(([type, name]): [Codec, number, string] => [tableFeaturePropCodec, type, `table feature property ${name}`]),
    [tableFeaturePropCodec, 9, 'table feature property'],
  ];
  it.each(fourByteMinimum)('%#: type %i is %s, at least 4 bytes', (codec, type, name) => {
    expect(decodeError(codec, tlv(type, 2), 64)).toEqual({ reason: `${name} length 2 is shorter than its minimum 4`, offset: 8 });
  });

  it('the structures with a length field elsewhere, and the port without one', () => {
    expect(decodeError(bucketCodec, '0004', 64)).toEqual({ reason: 'bucket length 4 is shorter than its minimum 16', offset: 8 });
    expect(decodeError(packetQueueCodec, '00000001000000020004', 64)).toEqual({ reason: 'packet queue length 4 is shorter than its minimum 16', offset: 8 });
    expect(decodeError(tableFeaturesCodec, '0004', 64)).toEqual({ reason: 'table features length 4 is shorter than its minimum 64', offset: 8 });
    expect(decodeError(portCodec, '00', 9)).toEqual({ reason: 'port truncated: 10 bytes left, needs 64', offset: 8 });
    // An instruction or action id inside a table feature property: type, length (4 at least), experimenter data.
    expect(decodeError(tableFeaturePropCodec, `${tlv(0, 8)}00010002`)).toEqual({ reason: 'id length 2 is shorter than its minimum 4', offset: 12 });
  });
});

describe('the action union', () => {
  it('reads a Nicira header only when the 10 bytes of experimenter id and subtype are there', () => {
    // 8 bytes, NX's experimenter id: a plain experimenter action (no subtype to read).
    expect(decodeAt8(actionCodec, 'ffff000800002320')).toEqual({ type: 'experimenter', experimenter: 0x2320, data: Buffer.alloc(0) });
    // 10 bytes: the subtype is there; 999 is not typed, so the action stays opaque with its subtype.
    expect(decodeAt8(actionCodec, 'ffff000a0000232003e7')).toEqual({ type: 'nx_unknown', subtype: 999, data: Buffer.alloc(0) });
    // Subtype 0 (not typed) is a Nicira action too, and another experimenter id is not.
    expect(decodeAt8(actionCodec, 'ffff0010000023200000aabbccddeeff')).toEqual({ type: 'nx_unknown', subtype: 0, data: Buffer.from('aabbccddeeff', 'hex') });
    expect(decodeAt8(actionCodec, 'ffff00100000123400070000000000aa')).toEqual({ type: 'experimenter', experimenter: 0x1234, data: Buffer.from('00070000000000aa', 'hex') });
  });

  it('does not look for a Nicira subtype in other actions, and reads both subtype bytes', () => {
    // An output to port 0x2320 with max_len 7 looks like NX's id and subtype REG_LOAD from byte 4 on.
    expect(decodeAt8(actionCodec, '0000001000002320000700000000000000')).toEqual({ type: 'output', port: 0x2320, maxLen: 7 });
    // Subtype 0x0106: not REG_MOVE (6), which its low byte alone would be.
    expect(decodeAt8(actionCodec, 'ffff00100000232001060000000000aa')).toEqual({ type: 'nx_unknown', subtype: 0x106, data: Buffer.from('0000000000aa', 'hex') });
  });

  it('pads the opaque experimenter actions and instruction to 8 bytes, the padding counted in their length', () => {
    const data = Buffer.from('aabbcc', 'hex');
    expect(encoded(actionCodec, { type: 'experimenter', experimenter: 0x1234, data })).toBe('ffff001000001234aabbcc0000000000');
    expect(encoded(actionCodec, { type: 'nx_unknown', subtype: 999, data })).toBe('ffff00100000232003e7aabbcc000000');
    expect(encoded(instructionCodec, { type: 'experimenter', experimenter: 0x1234, data })).toBe('ffff001000001234aabbcc0000000000');
    expect(decodeError(actionCodec, 'ffff0008000023200001', 6)).toEqual({ reason: 'Nicira action length 8 is shorter than its minimum 10', offset: 8 });
  });

  it('refuses an unknown standard action type, naming it', () => {
    expect(decodeError(actionCodec, '0063000800000000')).toEqual({ reason: 'unknown action type 99', offset: 8 });
    expect(decodeError(instructionCodec, '0009000800000000')).toEqual({ reason: 'unknown instruction type 9', offset: 8 });
    expect(decodeError(meterBandCodec, '0003001000000000000000000000000000')).toEqual({ reason: 'unknown meter band type 3', offset: 8 });
    expect(decodeError(queuePropertyCodec, '0003001000000000000000000000000000')).toEqual({ reason: 'unknown queue property type 3', offset: 8 });
  });

  it('an action list: actions to the end, none for no bytes; refuses what is not a list, and a bad action by its own path', () => {
    const two = '0000001000000005ffe5000000000000' + '0018000800000000';
    expect(decodeAt8(actionList, two)).toEqual([{ type: 'output', port: 5, maxLen: 0xffe5 }, { type: 'dec_nw_ttl' }]);
    expect(decodeAt8(actionList, '')).toEqual([]);
    expect(encoded(actionList, [{ type: 'output', port: 5, maxLen: 0xffe5 }, { type: 'dec_nw_ttl' }])).toBe(two);
    expect(encodeError(actionList, { type: 'output' }, 'acts')).toEqual({ path: 'acts', reason: 'expected an array' });
    expect(encodeError(actionList, [{ type: 'dec_nw_ttl' }, { type: 'output', port: -1, maxLen: 0 }], 'acts'))
      .toEqual({ path: 'action output.port', reason: 'expected u32, got -1' });
    expect(encodeError(actionList, [{ type: 'dec_nw_ttl' }, { type: 'nope' }], 'acts')).toEqual({ path: 'acts[1]', reason: 'unknown action type nope' });
  });
});

describe('hello version bitmap', () => {
  const hello = (elements: unknown): OfpMessage => ({ type: 'hello', xid: 1, elements } as OfpMessage);
  const body = (m: OfpMessage): string => encode(m).subarray(8).toString('hex');

  it('spans as many 32-bit words as the highest version needs, bit v % 32 of word v / 32', () => {
    const versions = [0, 1, 4, 31, 33, 100];
    // len 4 + 16 = 20, padded to 24 (the padding is not counted).
    const hex = '00010014' + '80000013' + '00000002' + '00000000' + '00000010' + '00000000';
    expect(body(hello([{ type: 'versionbitmap', versions }]))).toBe(hex);
    expect(decode(encode(hello([{ type: 'versionbitmap', versions }])))).toEqual(hello([{ type: 'versionbitmap', versions }]));
    // Into a writer that starts at 16 bytes: the bitmap makes its own room.
    expect(encoded(helloElementCodec, { type: 'versionbitmap', versions })).toBe(hex);
    expect(body(hello([{ type: 'versionbitmap', versions: [] }]))).toBe('0001000400000000');
    expect(decode(encode(hello([{ type: 'versionbitmap', versions: [] }])))).toEqual(hello([{ type: 'versionbitmap', versions: [] }]));
    // The highest version a 16-bit number names: 2048 words.
    expect(encode(hello([{ type: 'versionbitmap', versions: [0xffff] }])).length).toBe(8 + 4 + 2048 * 4 + 4);
  });

  it('refuses a bitmap that is not whole words, and versions that are not 0-65535 integers', () => {
    expect(decodeError(helloElementCodec, '0001000a000000120000', 6)).toEqual({ reason: 'version bitmap has 2 unexpected trailing bytes', offset: 12 });
    // At an odd offset (13 for the bitmap): the count is of the bitmap's own bytes, whatever its offset.
    const odd = Buffer.concat([Buffer.alloc(9, 0xee), Buffer.from('0001000a000000120000', 'hex'), Buffer.alloc(6)]);
    expect(() => helloElementCodec.dec(odd, 9, odd.length)).toThrow(expect.objectContaining({ reason: 'version bitmap has 2 unexpected trailing bytes', offset: 13 }));
    const at = 'hello element versionbitmap.versions';
    for (const versions of ['4', [4, -1], [1.5], [0x10000], [4, '5']]) {
      expect(encodeError(helloElementCodec, { type: 'versionbitmap', versions })).toEqual({ path: at, reason: `expected a list of version numbers, got ${String(versions)}` });
    }
  });

  it('refuses an element whose padding runs past what is left', () => {
    expect(decodeError(helloElementCodec, '000100060000')).toEqual({ reason: 'hello element versionbitmap padding length 8 overflows its container (6 bytes left)', offset: 8 });
  });

  it('keeps an element of another type as bytes', () => {
    expect(decodeAt8(helloElementCodec, '0007000601020000')).toEqual({ type: 'unknown', elemType: 7, data: Buffer.from('0102', 'hex') });
  });
});

describe('table feature properties', () => {
  it('the miss variants both ways: table ids, set-field OXM ids, experimenter ids and data', () => {
    const props: [unknown, string][] = [
      [{ type: 'next_tables_miss', tableIds: [1, 2, 3] }, '00030007010203' + '00'],
      [{ type: 'write_setfield_miss', oxmIds: [0x80000004, 0x80000a02] }, '000d000c8000000480000a02' + '00000000'],
      [{ type: 'experimenter_miss', experimenter: 0x2320, expType: 5, data: [7] }, 'ffff001000002320' + '0000000500000007'],
    ];
    for (const [prop, hex] of props) {
      expect(encoded(tableFeaturePropCodec, prop)).toBe(hex);
      expect(decodeAt8(tableFeaturePropCodec, hex)).toEqual(prop);
    }
  });

  it('and the unions refuse fewer bytes than their type and length', () => {
    expect(decodeError(tableFeaturePropCodec, '0000')).toEqual({ reason: 'table feature property truncated: 2 bytes left, needs 4', offset: 8 });
    expect(decodeError(helloElementCodec, '0001')).toEqual({ reason: 'hello element truncated: 2 bytes left, needs 4', offset: 8 });
    expect(encodeError(helloElementCodec, 'x')).toEqual({ path: 'x', reason: 'expected a hello element object, got x' });
  });
});

describe('refusals name the structure and field', () => {
  it('a bucket, a band, a port, a queue property, table features and an action inside a message', () => {
    expect(encodeError(bucketCodec, { weight: 70000, watchPort: 0, watchGroup: 0, actions: [] })).toEqual({ path: 'bucket.weight', reason: 'expected u16, got 70000' });
    expect(encodeError(meterBandCodec, { type: 'dscp_remark', rate: 1, burstSize: 1, precLevel: 256 })).toEqual({ path: 'meter band dscp_remark.precLevel', reason: 'expected u8, got 256' });
    expect(encodeError(queuePropertyCodec, { type: 'max_rate', rate: -1 })).toEqual({ path: 'queue property max_rate.rate', reason: 'expected u16, got -1' });
    expect(encodeError(tableFeaturePropCodec, { type: 'next_tables', tableIds: [1, 256] })).toEqual({ path: 'table feature property next_tables.tableIds', reason: 'expected u8, got 256' });
    expect(encodeError(tableFeaturePropCodec, { type: 'match', oxmIds: [2 ** 32] })).toEqual({ path: 'table feature property match.oxmIds', reason: 'expected u32, got 4294967296' });
    expect(encodeError(portCodec, {
      portNo: 1, hwAddr: 'zz', name: 'p', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
    }).path).toBe('port.hwAddr');
    expect(encodeError(tableFeaturesCodec, { tableId: 1, name: 'x'.repeat(33), metadataMatch: 0n, metadataWrite: 0n, config: 0, maxEntries: 0, properties: [] }).path)
      .toBe('table features.name');
    const po: OfpMessage = { type: 'packet_out', xid: 1, bufferId: 0, inPort: 0, data: Buffer.alloc(0), actions: [{ type: 'set_queue', queueId: -1 } as Action] };
    expect(() => encode(po)).toThrow(new OfpEncodeError('action set_queue.queueId', 'expected u32, got -1'));
  });
});
