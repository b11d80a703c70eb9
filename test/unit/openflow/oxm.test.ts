// The OXM table and its codec against the specification's numbers, written out here by hand rather than read from
// the table (roundtrip.test.ts draws its fields and maskability from OXM_FIELDS itself, so a wrong entry there round
// trips): OpenFlow 1.3.5 section 7.2.3.7 (class 0x8000, fields 0-39, "Maskable" column), OVS meta-flow.h for the
// Nicira (NXM_0/NXM_1) and ONF experimenter fields. Then the edges of decodeOxm, encodeOxm and the match codec:
// each refusal's reason and offset, as a caller reads them.
import { OfpDecodeError, OfpEncodeError } from '../../../src/openflow';
import {
  OXM_FIELDS, decodeOxm, encodeOxm, matchCodec, oxmFieldByHeader, oxmFieldDecl, oxmFieldSize, oxmHeaderOf,
} from '../../../src/openflow/oxm';
import { Writer } from '../../../src/openflow/wire';
import type { Oxm, OxmValue } from '../../../src/openflow';

type Kind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';
interface SpecField { name: string; cls: number; field: number; kind: Kind; maskable: boolean; exp?: { id: number; expType?: number } }

const BASIC = 0x8000;
const NXM0 = 0x0000;
const NXM1 = 0x0001;
const EXPERIMENTER = 0xffff;
const ONF = 0x4f4e4600;
const row = (name: string, cls: number, field: number, kind: Kind, maskable: boolean): SpecField => ({ name, cls, field, kind, maskable });

const SPEC: SpecField[] = [
  // OpenFlow 1.3.5, Table 12 (OXM_OF_*): field number, width, maskable.
  row('in_port', BASIC, 0, 'u32', false), row('in_phy_port', BASIC, 1, 'u32', false), row('metadata', BASIC, 2, 'u64', true),
  row('eth_dst', BASIC, 3, 'mac', true), row('eth_src', BASIC, 4, 'mac', true), row('eth_type', BASIC, 5, 'u16', false),
  row('vlan_vid', BASIC, 6, 'u16', true), row('vlan_pcp', BASIC, 7, 'u8', false), row('ip_dscp', BASIC, 8, 'u8', false),
  row('ip_ecn', BASIC, 9, 'u8', false), row('ip_proto', BASIC, 10, 'u8', false), row('ipv4_src', BASIC, 11, 'ipv4', true),
  row('ipv4_dst', BASIC, 12, 'ipv4', true), row('tcp_src', BASIC, 13, 'u16', false), row('tcp_dst', BASIC, 14, 'u16', false),
  row('udp_src', BASIC, 15, 'u16', false), row('udp_dst', BASIC, 16, 'u16', false), row('sctp_src', BASIC, 17, 'u16', false),
  row('sctp_dst', BASIC, 18, 'u16', false), row('icmpv4_type', BASIC, 19, 'u8', false), row('icmpv4_code', BASIC, 20, 'u8', false),
  row('arp_op', BASIC, 21, 'u16', false), row('arp_spa', BASIC, 22, 'ipv4', true), row('arp_tpa', BASIC, 23, 'ipv4', true),
  row('arp_sha', BASIC, 24, 'mac', true), row('arp_tha', BASIC, 25, 'mac', true), row('ipv6_src', BASIC, 26, 'ipv6', true),
  row('ipv6_dst', BASIC, 27, 'ipv6', true), row('ipv6_flabel', BASIC, 28, 'u32', true), row('icmpv6_type', BASIC, 29, 'u8', false),
  row('icmpv6_code', BASIC, 30, 'u8', false), row('ipv6_nd_target', BASIC, 31, 'ipv6', false), row('ipv6_nd_sll', BASIC, 32, 'mac', false),
  row('ipv6_nd_tll', BASIC, 33, 'mac', false), row('mpls_label', BASIC, 34, 'u32', false), row('mpls_tc', BASIC, 35, 'u8', false),
  row('mpls_bos', BASIC, 36, 'u8', false), row('pbb_isid', BASIC, 37, 'u24', true), row('tunnel_id', BASIC, 38, 'u64', true),
  row('ipv6_exthdr', BASIC, 39, 'u16', true),
  // OVS meta-flow.h: NXM_OF_ETH_DST/SRC, NXM_NX_REG0-15, NXM_NX_TUN_ID, TUN_IPV4_SRC/DST, PKT_MARK, CONJ_ID, CT_*.
  row('eth_dst_nxm', NXM0, 1, 'mac', true), row('eth_src_nxm', NXM0, 2, 'mac', true),
  ...Array.from({ length: 16 }, (_, i) => row(`reg${i}`, NXM1, i, 'u32', true)),
  row('tunnel_id_nxm', NXM1, 16, 'u64', true), row('tun_ipv4_src', NXM1, 31, 'ipv4', true), row('tun_ipv4_dst', NXM1, 32, 'ipv4', true),
  row('pkt_mark', NXM1, 33, 'u32', true), row('tcp_flags_nxm', NXM1, 34, 'u16', true), row('conj_id', NXM1, 37, 'u32', false),
  row('ct_state', NXM1, 105, 'u32', true), row('ct_zone', NXM1, 106, 'u16', false), row('ct_mark', NXM1, 107, 'u32', true),
  row('ct_nw_proto', NXM1, 119, 'u8', false), row('ct_nw_src', NXM1, 120, 'ipv4', true), row('ct_nw_dst', NXM1, 121, 'ipv4', true),
  row('ct_ipv6_src', NXM1, 122, 'ipv6', true), row('ct_ipv6_dst', NXM1, 123, 'ipv6', true), row('ct_tp_src', NXM1, 124, 'u16', true),
  row('ct_tp_dst', NXM1, 125, 'u16', true),
  // ONF experimenter OXMs: ONFOXM_ET_TCP_FLAGS (field 42 after the ONF id) and EXT-256 PBB UCA (exp_type 2560).
  { ...row('tcp_flags', EXPERIMENTER, 42, 'u16', true), exp: { id: ONF } },
  { ...row('pbb_uca', EXPERIMENTER, 0, 'u8', false), exp: { id: ONF, expType: 2560 } },
];

/** A value and a mask per kind, with their wire bytes. */
const SAMPLES: Record<Kind, { value: OxmValue; hex: string; mask: OxmValue; maskHex: string }> = {
  u8: { value: 0x5a, hex: '5a', mask: 0x0f, maskHex: '0f' },
  u16: { value: 0x1234, hex: '1234', mask: 0x0ff0, maskHex: '0ff0' },
  u24: { value: 0x123456, hex: '123456', mask: 0xf0f0f0, maskHex: 'f0f0f0' },
  u32: { value: 0x89abcdef, hex: '89abcdef', mask: 0xffff0000, maskHex: 'ffff0000' },
  u64: { value: 0x0123456789abcdefn, hex: '0123456789abcdef', mask: 0xffffffff00000000n, maskHex: 'ffffffff00000000' },
  mac: { value: '02:11:22:33:44:55', hex: '021122334455', mask: 'ff:ff:ff:00:00:00', maskHex: 'ffffff000000' },
  ipv4: { value: '10.1.2.3', hex: '0a010203', mask: '255.255.0.0', maskHex: 'ffff0000' },
  ipv6: { value: '2001:db8::1', hex: '20010db8000000000000000000000001', mask: 'ffff:ffff::', maskHex: 'ffffffff000000000000000000000000' },
};
const WIDTH: Record<Kind, number> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };

const prefixLen = (s: SpecField): number => (s.exp ? (s.exp.expType === undefined ? 4 : 6) : 0);
/** The 4-byte OXM header and any experimenter id and exp_type, as hex. */
function headHex(s: SpecField, masked: boolean): string {
  const len = prefixLen(s) + (masked ? 2 : 1) * WIDTH[s.kind];
  const header = ((s.cls << 16) | (s.field << 9) | (masked ? 0x100 : 0) | len) >>> 0;
  let hex = header.toString(16).padStart(8, '0');
  if (s.exp) hex += s.exp.id.toString(16).padStart(8, '0');
  if (s.exp?.expType !== undefined) hex += s.exp.expType.toString(16).padStart(4, '0');
  return hex;
}

function encodeOne(oxm: unknown): Buffer {
  const w = new Writer(64);
  encodeOxm(w, oxm as Oxm, 'm');
  return Buffer.from(w.buf.subarray(0, w.pos));
}
function decodeOne(hex: string): Oxm {
  const b = Buffer.from(`abcd${hex}`, 'hex'); // at offset 2, so an offset mix-up shows
  return decodeOxm(b, 2, b.length);
}
function thrown(f: () => unknown): unknown {
  try { f(); } catch (e) { return e; }
  throw new Error('did not throw');
}
/** What f throws, checked to be of the codec's typed error class. */
function thrownAs(kind: typeof OfpDecodeError | typeof OfpEncodeError, f: () => unknown): unknown {
  const err = thrown(f);
  expect(err).toBeInstanceOf(kind);
  return err;
}
/** A match (type OXM, its length, the OXMs, zero padding to 8) placed 8 bytes into a buffer. */
function matchAt8(oxmsHex: string, lenOverride?: number): Buffer {
  const body = Buffer.from(oxmsHex, 'hex');
  const len = lenOverride ?? 4 + body.length;
  const padded = (4 + body.length + 7) & ~7;
  const m = Buffer.alloc(padded);
  m.writeUInt16BE(1, 0); m.writeUInt16BE(len, 2); body.copy(m, 4);
  return Buffer.concat([Buffer.alloc(8, 0xee), m]);
}
const decodeMatch = (b: Buffer): Oxm[] => matchCodec.dec(b, 8, b.length);

describe('the OXM table against OpenFlow 1.3.5 and OVS meta-flow.h', () => {
  it('has exactly the fields listed here', () => {
    expect(OXM_FIELDS.map((d) => d.name).sort()).toEqual(SPEC.map((s) => s.name).sort());
  });

  it.each(SPEC.map((s) => [s.name, s] as const))('%s: encodes to its class, field and length, and decodes back by name', (_n, s) => {
    const sample = SAMPLES[s.kind];
    const hex = headHex(s, false) + sample.hex;
    expect(encodeOne({ field: s.name, value: sample.value }).toString('hex')).toBe(hex);
    expect(decodeOne(hex)).toEqual({ field: s.name, value: sample.value });
  });

  it.each(SPEC.map((s) => [s.name, s.maskable ? 'takes' : 'refuses', s] as const))('%s %s a mask both ways', (_n, _t, s) => {
    const sample = SAMPLES[s.kind];
    const masked = { field: s.name, value: sample.value, mask: sample.mask };
    const hex = headHex(s, true) + sample.hex + sample.maskHex;
    if (s.maskable) {
      expect(encodeOne(masked).toString('hex')).toBe(hex);
      expect(decodeOne(hex)).toEqual(masked);
      return;
    }
    expect(thrown(() => encodeOne(masked))).toMatchObject({ path: 'm', reason: `OXM field ${s.name} is not maskable` });
    const err = thrownAs(OfpDecodeError, () => decodeOne(hex));
    expect(err).toMatchObject({ offset: 2, reason: `OXM ${s.name} is not maskable but has a mask` });
  });

  it('looks fields up by name and by header: header word, value size, declaration', () => {
    for (const s of SPEC) {
      const header = parseInt(headHex(s, false).slice(0, 8), 16);
      expect([s.name, oxmHeaderOf(s.name)]).toEqual([s.name, header]);
      expect([s.name, oxmFieldSize(s.name)]).toEqual([s.name, WIDTH[s.kind]]);
      expect(oxmFieldDecl(s.name)).toMatchObject({ name: s.name, oxmClass: s.cls, field: s.field, maskable: s.maskable });
      // The has-mask bit and the length are not part of a field's identity.
      expect(oxmFieldByHeader((header | 0x1ff) >>> 0)?.name).toBe(s.name);
    }
    expect(oxmHeaderOf('tcp_flags')).toBe(0xffff5406);
    expect(oxmHeaderOf('pbb_uca')).toBe(0xffff0007);
    for (const lookup of [oxmHeaderOf, oxmFieldSize, oxmFieldDecl]) expect(lookup('no_such_field')).toBeUndefined();
    expect(oxmFieldByHeader(0x7ffe0000)).toBeUndefined();
  });
});

describe('decodeOxm at its edges', () => {
  it('keeps an experimenter OXM of another experimenter, or another ONF exp_type, as raw bytes', () => {
    // tcp_flags' header with Nicira's experimenter id instead of ONF's.
    const nicira = 'ffff5406000023200012';
    expect(decodeOne(nicira)).toEqual({ field: 'raw', bytes: Buffer.from(nicira, 'hex') });
    // pbb_uca's header and ONF id, exp_type 2561 instead of 2560.
    const otherType = 'ffff00074f4e46000a0101';
    expect(decodeOne(otherType)).toEqual({ field: 'raw', bytes: Buffer.from(otherType, 'hex') });
    expect(decodeOne('ffff00074f4e46000a0001')).toEqual({ field: 'pbb_uca', value: 1 });
  });

  it('keeps an experimenter OXM too short for its experimenter id as raw, without reading past it', () => {
    // tcp_flags with length 0; the next OXM's header happens to be the ONF id (class 0x4f4e: unknown, raw too).
    expect(decodeMatch(matchAt8('ffff54004f4e4600'))).toEqual([
      { field: 'raw', bytes: Buffer.from('ffff5400', 'hex') },
      { field: 'raw', bytes: Buffer.from('4f4e4600', 'hex') },
    ]);
  });

  it('refuses an experimenter OXM that holds its id but no value: the wrong length, named', () => {
    const err = thrownAs(OfpDecodeError, () => decodeOne('ffff54044f4e4600'));
    expect(err).toMatchObject({ offset: 2, reason: 'OXM tcp_flags length 4 is wrong (expected 6)' });
  });

  it('reads a zero-length unknown OXM that ends its match as raw', () => {
    expect(decodeMatch(matchAt8('7ffe0000'))).toEqual([{ field: 'raw', bytes: Buffer.from('7ffe0000', 'hex') }]);
  });

  it('refuses an OXM header cut off by the end of its match', () => {
    // match length 6: two bytes of an OXM header.
    const err = thrownAs(OfpDecodeError, () => decodeMatch(matchAt8('80000004', 6)));
    expect(err).toMatchObject({ offset: 12, reason: 'OXM header truncated: 2 bytes left, needs 4' });
  });

  it('refuses an OXM whose length runs past the end of its match', () => {
    // in_port (length 4) in a match that ends two bytes into its value; the padding after it is not read.
    const err = thrownAs(OfpDecodeError, () => decodeMatch(matchAt8('800000040000', 10)));
    expect(err).toMatchObject({ offset: 12, reason: 'OXM length 4 overflows its match (2 bytes left)' });
  });
});

describe('the match codec at its edges', () => {
  const reasonOf = (b: Buffer): unknown => thrownAs(OfpDecodeError, () => decodeMatch(b));

  it('refuses a match cut short, of another type, shorter than its header, or longer than what is left', () => {
    expect(reasonOf(Buffer.from('eeeeeeeeeeeeeeee0001', 'hex'))).toMatchObject({ offset: 8, reason: 'match truncated: 2 bytes left, needs 4' });
    expect(reasonOf(Buffer.from('eeeeeeeeeeeeeeee00000004', 'hex'))).toMatchObject({ offset: 8, reason: 'match type 0 is not OXM (1)' });
    expect(reasonOf(matchAt8('', 2))).toMatchObject({ offset: 8, reason: 'match length 2 is shorter than its minimum 4' });
    // A 4-byte match with no room for its 4 bytes of padding, and one whose length says 16 in 8 bytes.
    expect(reasonOf(Buffer.from('eeeeeeeeeeeeeeee00010004', 'hex'))).toMatchObject({ offset: 8, reason: 'match length 8 overflows its container (4 bytes left)' });
    expect(reasonOf(matchAt8('', 16))).toMatchObject({ offset: 8, reason: 'match length 16 overflows its container (8 bytes left)' });
  });

  const encodeMatch = (oxms: unknown): Buffer => {
    const w = new Writer(64);
    matchCodec.enc(w, oxms as Oxm[], 'match');
    return Buffer.from(w.buf.subarray(0, w.pos));
  };
  /** Raw TLVs whose bytes add up to n: 259-byte ones (length 255), then one for the rest (n - 259 * k, here 4 or 5 bytes). */
  function rawTlvs(n: number): Oxm[] {
    const out: Oxm[] = [];
    for (; n > 259; n -= 259) out.push({ field: 'raw', bytes: Buffer.concat([Buffer.from([0x7f, 0xfe, 0, 255]), Buffer.alloc(255, 1)]) });
    out.push({ field: 'raw', bytes: Buffer.concat([Buffer.from([0x7f, 0xfe, 0, n - 4]), Buffer.alloc(n - 4, 2)]) });
    return out;
  }

  it('encodes a match of 65535 bytes and refuses one of 65536', () => {
    const longest = encodeMatch(rawTlvs(65535 - 4));
    expect(longest.readUInt16BE(2)).toBe(0xffff);
    expect(longest.length).toBe(65536); // one byte of padding
    expect(thrown(() => encodeMatch(rawTlvs(65536 - 4)))).toMatchObject({ path: 'match', reason: 'length 65536 does not fit in 16 bits' });
  });

  it('refuses what is not a list of OXMs, naming the path', () => {
    expect(thrown(() => encodeMatch({}))).toMatchObject({ path: 'match', reason: 'expected an array' });
    expect(thrown(() => encodeMatch([{ field: 'in_port', value: 1 }, null]))).toMatchObject({ path: 'match[1]', reason: 'expected an OXM object, got null' });
  });
});

describe('encodeOxm refusals', () => {
  const refusal = (oxm: unknown): unknown => thrownAs(OfpEncodeError, () => encodeOne(oxm));

  it('refuses what is not an OXM object', () => {
    expect(refusal(null)).toMatchObject({ path: 'm', reason: 'expected an OXM object, got null' });
    expect(refusal(5)).toMatchObject({ path: 'm', reason: 'expected an OXM object, got 5' });
  });

  it('refuses an unknown field name', () => {
    expect(refusal({ field: 'no_such_field', value: 1 })).toMatchObject({ path: 'm', reason: 'unknown OXM field no_such_field' });
  });

  it('writes raw bytes that are one whole TLV, the shortest being its 4-byte header', () => {
    expect(encodeOne({ field: 'raw', bytes: Buffer.from('7ffe0000', 'hex') }).toString('hex')).toBe('7ffe0000');
    expect(encodeOne({ field: 'raw', bytes: Buffer.from('7ffe0201ab', 'hex') }).toString('hex')).toBe('7ffe0201ab');
  });

  it('refuses raw bytes that are not a Buffer, shorter than a header, or whose length byte disagrees', () => {
    const reason = 'raw OXM bytes must be a whole TLV (4-byte header whose length matches)';
    expect(refusal({ field: 'raw', bytes: [0x7f, 0xfe, 0, 0] })).toMatchObject({ path: 'm', reason });
    expect(refusal({ field: 'raw', bytes: Buffer.from('7ffe00', 'hex') })).toMatchObject({ path: 'm', reason });
    expect(refusal({ field: 'raw', bytes: Buffer.from('7ffe0000ab', 'hex') })).toMatchObject({ path: 'm', reason });
    expect(refusal({ field: 'raw', bytes: Buffer.from('7ffe0002ab', 'hex') })).toMatchObject({ path: 'm', reason });
  });
});
