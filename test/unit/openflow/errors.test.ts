// Bad input gives a typed OfpDecodeError naming the message type, the offset and the reason.
import * as fs from 'fs';
import * as path from 'path';
import { decode, encode, OfpDecodeError, OfpEncodeError, OfpFramingError } from '../../../src/openflow';
import type { OfpMessage } from '../../../src/openflow';
import { messagesByCode } from '../../../src/openflow/messages';

const vec = (n: string): Buffer => Buffer.from(fs.readFileSync(path.resolve(__dirname, '../../fixtures/of13/packet', `${n}.packet`)));
function decodeError(b: Buffer): OfpDecodeError {
  try { decode(b); } catch (e) { if (e instanceof OfpDecodeError) return e; throw e; }
  throw new Error('decode did not fail');
}
const withLen = (b: Buffer, len: number): Buffer => { const c = Buffer.from(b); c.writeUInt16BE(len, 2); return c; };

describe('decode errors', () => {
  const flowMod = vec('4-3-ofp_flow_mod'); // match at 48: in_port (52), eth_src (60); goto_table at 72

  it('truncated header and truncated body', () => {
    expect(decodeError(flowMod.subarray(0, 5))).toMatchObject({ msgType: 14, offset: 0 });
    const e = decodeError(flowMod.subarray(0, 40));
    expect(e).toMatchObject({ msgType: 'flow_mod', offset: 2 });
    expect(e.reason).toMatch(/truncated/);
  });

  it('header length that lies: too short, too long, shorter than the fixed body', () => {
    expect(decodeError(withLen(flowMod, 4)).reason).toMatch(/shorter than the header/);
    expect(decodeError(withLen(flowMod, 200)).reason).toMatch(/truncated/);
    const short = withLen(flowMod.subarray(0, 30), 30);
    expect(decodeError(short)).toMatchObject({ msgType: 'flow_mod', offset: 8 });
    expect(decodeError(Buffer.concat([flowMod, Buffer.alloc(3)]))).toMatchObject({ msgType: 'flow_mod', offset: 80, reason: '3 bytes after the message (header length 80)' });
  });

  it('unknown message type, multipart type, action and instruction types', () => {
    const t = Buffer.from(flowMod); t[1] = 99;
    expect(decodeError(t)).toMatchObject({ msgType: 99, offset: 1, reason: 'unknown message type 99' });
    const mp = Buffer.from(vec('4-24-ofp_desc_request')); mp.writeUInt16BE(77, 8);
    expect(decodeError(mp)).toMatchObject({ msgType: 'multipart_request', offset: 8, reason: 'unknown multipart type 77' });
    const ins = Buffer.from(flowMod); ins.writeUInt16BE(9, 72);
    expect(decodeError(ins)).toMatchObject({ msgType: 'flow_mod', offset: 72, reason: 'unknown instruction type 9' });
    const po = Buffer.from(vec('4-1-ofp_packet_out')); po.writeUInt16BE(99, 24);
    expect(decodeError(po)).toMatchObject({ msgType: 'packet_out', offset: 24, reason: 'unknown action type 99' });
  });

  it('OXM with a wrong length or a mask on a non-maskable field', () => {
    const len = Buffer.from(flowMod); len[55] = 5; // in_port length 5
    expect(decodeError(len)).toMatchObject({ msgType: 'flow_mod', offset: 52 });
    const mask = Buffer.from(flowMod); mask[54] |= 1; mask[55] = 8; mask.writeUInt32BE(0x80000806, 56); // has-mask bit on in_port
    expect(decodeError(mask).offset).toBe(52);
    expect(decodeError(mask).reason).toMatch(/in_port/);
  });

  it('nested lengths that overflow, are too short, or leave trailing bytes', () => {
    const ov = Buffer.from(flowMod); ov.writeUInt16BE(16, 74); // goto_table len 16 in an 8-byte tail
    expect(decodeError(ov)).toMatchObject({ msgType: 'flow_mod', offset: 72 });
    expect(decodeError(ov).reason).toMatch(/overflows/);
    const zero = Buffer.from(flowMod); zero.writeUInt16BE(0, 74);
    expect(decodeError(zero).reason).toMatch(/shorter than its minimum/);
    const m = Buffer.from(flowMod); m.writeUInt16BE(200, 50); // match length beyond the message
    expect(decodeError(m)).toMatchObject({ offset: 48 });
    const po = Buffer.from(vec('4-1-ofp_packet_out')); po.writeUInt16BE(5000, 16); // actions_len
    expect(decodeError(po)).toMatchObject({ msgType: 'packet_out', offset: 16 });
  });
  it('a header cut short: the reason, and the type byte when there is one', () => {
    expect(decodeError(flowMod.subarray(0, 5))).toMatchObject({ msgType: 14, offset: 0, reason: 'header truncated: 5 bytes, needs 8' });
    expect(decodeError(flowMod.subarray(0, 2)).msgType).toBe(14);
    expect(decodeError(flowMod.subarray(0, 1)).msgType).toBe('unknown');
    expect(decodeError(Buffer.alloc(0)).msgType).toBe('unknown');
  });

  it('keeps a version other than 1.3 (0x04) on the message, and none for 1.3', () => {
    const echo = encode({ type: 'echo_request', xid: 7, data: Buffer.from('hi') });
    expect(decode(echo)).not.toHaveProperty('version');
    const v5 = Buffer.from(echo); v5[0] = 5;
    expect(decode(v5)).toMatchObject({ type: 'echo_request', xid: 7, version: 5 });
    expect(encode(decode(v5)).equals(v5)).toBe(true);
  });

  it('turns a stray exception of a body decoder into a typed error naming the message', () => {
    const echo = encode({ type: 'echo_request', xid: 7, data: Buffer.alloc(0) });
    const codec = messagesByCode[echo[1]]!;
    const dec = codec.dec;
    codec.dec = () => { throw new RangeError('boom'); };
    try {
      expect(decodeError(echo)).toMatchObject({ msgType: 'echo_request', offset: 0, reason: 'internal decoder error: boom' });
    } finally {
      codec.dec = dec;
    }
  });
});

describe('encode errors', () => {
  it('rejects out-of-range and wrongly typed fields with the field path', () => {
    const base: OfpMessage = { type: 'set_config', xid: 1, flags: 0, missSendLen: 70000 };
    expect(() => encode(base)).toThrow(OfpEncodeError);
    expect(() => encode(base)).toThrow(/set_config\.missSendLen/);
    expect(() => encode({ type: 'role_request', xid: 1, role: 1, generationId: 5 as unknown as bigint })).toThrow(/generationId/);
    expect(() => encode({ type: 'nope', xid: 1 } as unknown as OfpMessage)).toThrow(/unknown message type nope/);
    expect(() => encode({ type: 'packet_out', xid: 1, bufferId: 1, inPort: 1, data: Buffer.alloc(0), actions: [{ type: 'set_field', field: { field: 'in_port', value: 1, mask: 1 } }] })).toThrow(/not maskable/);
  });
  it('rejects what is not a message, and a header field out of range, naming the field', () => {
    const encodeError = (m: unknown): OfpEncodeError => {
      try { encode(m as OfpMessage); } catch (e) { if (e instanceof OfpEncodeError) return e; throw e; }
      throw new Error('encode did not fail');
    };
    expect(encodeError(null)).toMatchObject({ path: 'message', reason: 'expected a message object' });
    expect(encodeError('hello')).toMatchObject({ path: 'message', reason: 'expected a message object' });
    expect(encodeError({ type: 'nope', xid: 1 })).toMatchObject({ path: 'message', reason: 'unknown message type nope' });
    expect(encodeError({ type: 'barrier_request', xid: 1, version: 256 })).toMatchObject({ path: 'barrier_request.version', reason: 'expected u8, got 256' });
    expect(encodeError({ type: 'barrier_request', xid: -1 })).toMatchObject({ path: 'barrier_request.xid', reason: 'expected u32, got -1' });
    expect(encodeError({ type: 'barrier_request', xid: 2 ** 32 })).toMatchObject({ path: 'barrier_request.xid', reason: 'expected u32, got 4294967296' });
    expect(encode({ type: 'barrier_request', xid: 2 ** 32 - 1, version: 255 }).toString('hex')).toBe('ff140008ffffffff');
  });

  it('encodes a message of 65535 bytes and refuses one byte more (the header length is 16 bits)', () => {
    expect(encode({ type: 'echo_request', xid: 1, data: Buffer.alloc(65535 - 8) }).length).toBe(65535);
    expect(() => encode({ type: 'echo_request', xid: 1, data: Buffer.alloc(65536 - 8) }))
      .toThrow(new OfpEncodeError('echo_request', 'message is 65536 bytes, more than the 65535 the header allows'));
  });

  it('names each error class and says what went wrong, where, in its message', () => {
    const decodeError = new OfpDecodeError('too short', 12, 'flow_mod');
    expect([decodeError.name, decodeError.message, decodeError.reason, decodeError.offset, decodeError.msgType])
      .toEqual(['OfpDecodeError', 'cannot decode OpenFlow flow_mod message: too short (offset 12)', 'too short', 12, 'flow_mod']);
    const untyped = new OfpDecodeError('x', 0);
    expect([untyped.msgType, untyped.message]).toEqual(['unknown', 'cannot decode OpenFlow unknown message: x (offset 0)']);
    expect(untyped.withMessageType(14).message).toBe('cannot decode OpenFlow 14 message: x (offset 0)');
    const encodeError = new OfpEncodeError('flow_mod.match[0]', 'unknown field');
    expect([encodeError.name, encodeError.message]).toEqual(['OfpEncodeError', 'cannot encode OpenFlow flow_mod.match[0]: unknown field']);
    const framingError = new OfpFramingError('bad version 0x01', 40);
    expect([framingError.name, framingError.message, framingError.reason, framingError.streamOffset])
      .toEqual(['OfpFramingError', 'OpenFlow framing error at stream offset 40: bad version 0x01', 'bad version 0x01', 40]);
  });
});
