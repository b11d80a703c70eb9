// The message declarations (src/openflow/messages.ts) at their edges, through the public codec: the error message's
// two layouts, typed and opaque experimenter messages, multipart framing, and each multipart body and entry naming
// itself when cut short. Expected bytes, names, sizes and offsets are written out from the spec (OpenFlow 1.3.5,
// sections 7.3.5, 7.4.4, 7.5.4), not read from the declarations.
import { decode, encode, OfpDecodeError, OfpEncodeError } from '../../../src/openflow';
import type { OfpMessage } from '../../../src/openflow';

const hex16 = (n: number): string => n.toString(16).padStart(4, '0');
/** An OpenFlow 1.3 message of the given type code with xid 7 around the body (hex). */
const message = (type: number, body: string): Buffer => {
  const b = Buffer.from(`04${type.toString(16).padStart(2, '0')}0000` + '00000007' + body, 'hex');
  b.writeUInt16BE(b.length, 2);
  return b;
};
function decodeError(b: Buffer): { msgType: string | number; reason: string; offset: number } {
  try { decode(b); } catch (e) {
    if (e instanceof OfpDecodeError) return { msgType: e.msgType, reason: e.reason, offset: e.offset };
    throw e;
  }
  throw new Error('decode did not fail');
}
function encodeError(m: unknown): { path: string; reason: string } {
  try { encode(m as OfpMessage); } catch (e) {
    if (e instanceof OfpEncodeError) return { path: e.path, reason: e.reason };
    throw e;
  }
  throw new Error('encode did not fail');
}
const both = (m: OfpMessage, b: Buffer): void => {
  expect(encode(m).toString('hex')).toBe(b.toString('hex'));
  expect(decode(b)).toEqual(m);
};
const zeros = (n: number): string => '00'.repeat(n);

describe('error (7.4.4): the layout follows the type field', () => {
  it('standard: type, code, data; experimenter (type 0xffff): type, exp_type, experimenter id, data', () => {
    both({ type: 'error', xid: 7, errType: 0xfffe, code: 5, data: Buffer.from('ab', 'hex') }, message(1, 'fffe0005ab'));
    both({ type: 'error', xid: 7, errType: 0xffff, expType: 3, experimenter: 0x2320, data: Buffer.from('ab', 'hex') }, message(1, 'ffff000300002320ab'));
  });

  it('refuses a body too short for the type, then for the layout', () => {
    expect(decodeError(message(1, '00'))).toEqual({ msgType: 'error', reason: 'error truncated: 1 bytes left, needs 2', offset: 8 });
    expect(decodeError(message(1, '0001'))).toEqual({ msgType: 'error', reason: 'error truncated: 2 bytes left, needs 4', offset: 8 });
    expect(decodeError(message(1, 'ffff0003'))).toEqual({ msgType: 'error', reason: 'error truncated: 4 bytes left, needs 8', offset: 8 });
  });
});

describe('experimenter messages (7.5.4)', () => {
  const ONF = '4f4e4600';
  const ROLE_STATUS = hex16(1911).padStart(8, '0');

  it('refuses a body without the two ids', () => {
    expect(decodeError(message(4, '00002320'))).toEqual({ msgType: 'experimenter', reason: 'experimenter truncated: 4 bytes left, needs 8', offset: 8 });
  });

  it('takes the ids of a typed message as the typed message, even when its body is cut short', () => {
    expect(decodeError(message(4, ONF + ROLE_STATUS))).toEqual({ msgType: 'experimenter', reason: 'onf_role_status truncated: 8 bytes left, needs 24', offset: 8 });
  });

  it('types a message by both ids: the role status exp_type under another experimenter stays opaque', () => {
    const body = '00002320' + ROLE_STATUS + zeros(16);
    expect(decode(message(4, body))).toEqual({ type: 'experimenter', xid: 7, experimenter: 0x2320, expType: 1911, data: Buffer.alloc(16) });
  });
});

describe('multipart (7.3.5)', () => {
  it('refuses a body without its 8-byte multipart header, and an unknown multipart type', () => {
    expect(decodeError(message(18, '00000000'))).toEqual({ msgType: 'multipart_request', reason: 'multipart_request truncated: 4 bytes left, needs 8', offset: 8 });
    expect(decodeError(message(19, '0000'))).toEqual({ msgType: 'multipart_reply', reason: 'multipart_reply truncated: 2 bytes left, needs 8', offset: 8 });
    expect(decodeError(message(19, '004d000000000000'))).toEqual({ msgType: 'multipart_reply', reason: 'unknown multipart type 77', offset: 8 });
  });

  it('refuses bytes after a fixed-size body, naming the body', () => {
    expect(decodeError(message(18, zeros(8) + 'aabbccdd'))).toEqual({ msgType: 'multipart_request', reason: 'multipart_request desc has 4 unexpected trailing bytes', offset: 16 });
    expect(decodeError(message(19, '0002000000000000' + zeros(24) + 'aabbccdd')))
      .toEqual({ msgType: 'multipart_reply', reason: 'multipart_reply aggregate has 4 unexpected trailing bytes', offset: 40 });
    expect(decodeError(message(19, '0008000000000000' + zeros(40) + 'aabbccdd')))
      .toEqual({ msgType: 'multipart_reply', reason: 'multipart_reply group_features has 4 unexpected trailing bytes', offset: 56 });
  });

  it('names each body cut short: request and reply, with the body\'s size', () => {
    const cut = (code: number, mpType: number, have: number): { reason: string; offset: number } => {
      const { reason, offset } = decodeError(message(code, `${hex16(mpType)}000000000000${zeros(have)}`));
      return { reason, offset };
    };
    expect(cut(18, 1, 4)).toEqual({ reason: 'multipart request flow truncated: 4 bytes left, needs 32', offset: 16 });
    expect(cut(18, 4, 4)).toEqual({ reason: 'multipart request port_stats truncated: 4 bytes left, needs 8', offset: 16 });
    expect(cut(18, 5, 4)).toEqual({ reason: 'multipart request queue truncated: 4 bytes left, needs 8', offset: 16 });
    expect(cut(18, 10, 4)).toEqual({ reason: 'multipart request meter_config truncated: 4 bytes left, needs 8', offset: 16 });
    expect(cut(18, 0xffff, 4)).toEqual({ reason: 'multipart request experimenter truncated: 4 bytes left, needs 8', offset: 16 });
    expect(cut(19, 0, 4)).toEqual({ reason: 'multipart reply desc truncated: 4 bytes left, needs 1056', offset: 16 });
    expect(cut(19, 2, 4)).toEqual({ reason: 'multipart reply aggregate truncated: 4 bytes left, needs 24', offset: 16 });
    expect(cut(19, 8, 4)).toEqual({ reason: 'multipart reply group_features truncated: 4 bytes left, needs 40', offset: 16 });
  });

  it('names each reply entry cut short or with a length under its minimum', () => {
    const entry = (mpType: number, hex: string): { reason: string; offset: number } => {
      const { reason, offset } = decodeError(message(19, `${hex16(mpType)}000000000000${hex}`));
      return { reason, offset };
    };
    expect(entry(3, zeros(4))).toEqual({ reason: 'table stats truncated: 4 bytes left, needs 24', offset: 16 });
    expect(entry(4, zeros(4))).toEqual({ reason: 'port stats truncated: 4 bytes left, needs 112', offset: 16 });
    expect(entry(5, zeros(4))).toEqual({ reason: 'queue stats truncated: 4 bytes left, needs 40', offset: 16 });
    expect(entry(11, zeros(4))).toEqual({ reason: 'meter features truncated: 4 bytes left, needs 16', offset: 16 });
    // The entries with a length field: flow stats (at 0), group stats (at 0), group desc (at 0), meter stats (at 4),
    // meter config (at 0).
    expect(entry(1, '0004' + zeros(62))).toEqual({ reason: 'flow stats length 4 is shorter than its minimum 56', offset: 16 });
    expect(entry(6, '0004' + zeros(62))).toEqual({ reason: 'group stats length 4 is shorter than its minimum 40', offset: 16 });
    expect(entry(7, '0004' + zeros(62))).toEqual({ reason: 'group desc length 4 is shorter than its minimum 8', offset: 16 });
    expect(entry(9, '000000010004' + zeros(62))).toEqual({ reason: 'meter stats length 4 is shorter than its minimum 40', offset: 16 });
    expect(entry(10, '0004' + zeros(62))).toEqual({ reason: 'meter config length 4 is shorter than its minimum 8', offset: 16 });
    // A group stats entry of 44 bytes: 40 of its own, then 4 of a bucket counter (16 bytes); a meter stats entry likewise.
    expect(entry(6, '002c' + zeros(38) + 'aabbccdd')).toEqual({ reason: 'bucket counter truncated: 4 bytes left, needs 16', offset: 56 });
    expect(entry(9, '00000001002c' + zeros(34) + 'aabbccdd')).toEqual({ reason: 'meter band stats truncated: 4 bytes left, needs 16', offset: 56 });
  });

  it('refuses a body of no known type and flags out of 16 bits, naming the field', () => {
    expect(encodeError({ type: 'multipart_request', xid: 1, flags: 0, body: { mpType: 'nope' } })).toEqual({ path: 'multipart_request.body', reason: 'unknown multipart type nope' });
    expect(encodeError({ type: 'multipart_reply', xid: 1, flags: 0, body: null })).toEqual({ path: 'multipart_reply.body', reason: 'unknown multipart type undefined' });
    expect(encodeError({ type: 'multipart_request', xid: 1, flags: 0 })).toEqual({ path: 'multipart_request.body', reason: 'unknown multipart type undefined' });
    expect(encodeError({ type: 'multipart_reply', xid: 1, flags: 0x10000, body: { mpType: 'desc' } })).toEqual({ path: 'multipart_reply.flags', reason: 'expected u16, got 65536' });
    expect(encodeError({ type: 'multipart_reply', xid: 1, flags: -1, body: { mpType: 'desc' } })).toEqual({ path: 'multipart_reply.flags', reason: 'expected u16, got -1' });
  });

  it('zeroes the header\'s pad bytes even where a failed message left other bytes', () => {
    // A flow_mod whose cookie (message bytes 8-15) is all ones fails at its instruction, after the cookie is written;
    // the next message is written where it was.
    const failing = {
      type: 'flow_mod', xid: 7, cookie: 0xffffffffffffffffn, cookieMask: 0xffffffffffffffffn, tableId: 0xff, command: 0, idleTimeout: 0,
      hardTimeout: 0, priority: 0, bufferId: 0, outPort: 0, outGroup: 0, flags: 0, match: [], instructions: [{ type: 'nope' }],
    };
    expect(encodeError(failing).reason).toBe('unknown instruction type nope');
    expect(encode({ type: 'multipart_request', xid: 7, flags: 1, body: { mpType: 'desc' } }).toString('hex')).toBe('041200100000000700000001' + '00000000');
  });
});
