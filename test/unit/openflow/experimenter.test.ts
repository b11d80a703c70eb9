// Typed experimenter messages (ONF role status) and what stays opaque: exact bytes both ways, typed errors.
import { decode, encode, OfpDecodeError } from '../../../src/openflow';
import type { Experimenter, OnfRoleStatus } from '../../../src/openflow';

const status: OnfRoleStatus = { type: 'onf_role_status', xid: 0x1d, role: 3, reason: 1, generationId: 0x0102030405060708n };
const STATUS_HEX = '040400200000001d' + '4f4e4600' + '00000777' + '00000003' + '01000000' + '0102030405060708';

describe('ONF role status (experimenter 0x4f4e4600, exp_type 1911)', () => {
  it('encodes as OFPT_EXPERIMENTER with the ONF id, exp_type, role, reason, 3 pad bytes and generation_id', () => {
    expect(encode(status).toString('hex')).toBe(STATUS_HEX);
    expect(decode(Buffer.from(STATUS_HEX, 'hex'))).toEqual(status);
  });

  it('a body with role properties after it stays an opaque experimenter message and re-encodes exactly', () => {
    const withProp = Buffer.concat([Buffer.from(STATUS_HEX, 'hex'), Buffer.from('ffff000800002320', 'hex')]);
    withProp.writeUInt16BE(withProp.length, 2);
    const m = decode(withProp) as Experimenter;
    expect(m).toMatchObject({ type: 'experimenter', experimenter: 0x4f4e4600, expType: 1911 });
    expect(m.data).toHaveLength(24);
    expect(encode(m).equals(withProp)).toBe(true);
  });

  it('a body shorter than the role status is a typed decode error naming the message', () => {
    const short = Buffer.from(STATUS_HEX, 'hex').subarray(0, 28);
    short.writeUInt16BE(28, 2);
    expect(() => decode(short)).toThrow(OfpDecodeError);
    expect(() => decode(short)).toThrow(/onf_role_status truncated/);
  });

  it('other experimenter messages stay opaque', () => {
    const other: Experimenter = { type: 'experimenter', xid: 3, experimenter: 0x4f4e4600, expType: 1912, data: Buffer.from('abcd') };
    expect(decode(encode(other))).toEqual(other);
  });
});
