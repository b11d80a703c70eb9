// OXM fields: one table (class, field, wire type, maskable) drives OXM decode and encode and the match codec.
import { OfpDecodeError, OfpEncodeError } from './errors';
import { Codec, SCALAR_SIZE, ScalarType, encodeElements, helpers, scalarStore } from './schema';
import { Writer, cursor, readIpv4, readIpv6, readMac, readU64 } from './wire';
import type { Oxm, OxmFieldName, OxmTlv, OxmValue } from './types';
import { ONF_VENDOR_ID, OFPXMC_NXM_0, OFPXMC_NXM_1, OFPXMC_OPENFLOW_BASIC, OFPXMC_EXPERIMENTER } from './constants';

export interface OxmFieldDecl {
  name: OxmFieldName;
  oxmClass: number;
  field: number;
  type: ScalarType;
  maskable: boolean;
  /**
   * Experimenter OXMs (class 0xffff): the experimenter id after the header and, for ONF EXT-256 only, a 2-byte
   * exp_type after it (other ONF fields, such as tcp_flags, name the field in the header's field bits).
   */
  experimenter?: { id: number; expType?: number };
}

const B = OFPXMC_OPENFLOW_BASIC;
const f = (name: OxmFieldName, oxmClass: number, field: number, type: ScalarType, maskable: boolean): OxmFieldDecl =>
  ({ name, oxmClass, field, type, maskable });

/** The OXM table: OpenFlow 1.3.5 section 7.2.3.7 (fields 0-39), plus the NXM/ONF fields OVS emits. */
export const OXM_FIELDS: readonly OxmFieldDecl[] = [
  f('in_port', B, 0, 'u32', false), f('in_phy_port', B, 1, 'u32', false), f('metadata', B, 2, 'u64', true),
  f('eth_dst', B, 3, 'mac', true), f('eth_src', B, 4, 'mac', true), f('eth_type', B, 5, 'u16', false),
  f('vlan_vid', B, 6, 'u16', true), f('vlan_pcp', B, 7, 'u8', false), f('ip_dscp', B, 8, 'u8', false),
  f('ip_ecn', B, 9, 'u8', false), f('ip_proto', B, 10, 'u8', false), f('ipv4_src', B, 11, 'ipv4', true),
  f('ipv4_dst', B, 12, 'ipv4', true), f('tcp_src', B, 13, 'u16', false), f('tcp_dst', B, 14, 'u16', false),
  f('udp_src', B, 15, 'u16', false), f('udp_dst', B, 16, 'u16', false), f('sctp_src', B, 17, 'u16', false),
  f('sctp_dst', B, 18, 'u16', false), f('icmpv4_type', B, 19, 'u8', false), f('icmpv4_code', B, 20, 'u8', false),
  f('arp_op', B, 21, 'u16', false), f('arp_spa', B, 22, 'ipv4', true), f('arp_tpa', B, 23, 'ipv4', true),
  f('arp_sha', B, 24, 'mac', true), f('arp_tha', B, 25, 'mac', true), f('ipv6_src', B, 26, 'ipv6', true),
  f('ipv6_dst', B, 27, 'ipv6', true), f('ipv6_flabel', B, 28, 'u32', true), f('icmpv6_type', B, 29, 'u8', false),
  f('icmpv6_code', B, 30, 'u8', false), f('ipv6_nd_target', B, 31, 'ipv6', false),
  f('ipv6_nd_sll', B, 32, 'mac', false), f('ipv6_nd_tll', B, 33, 'mac', false),
  f('mpls_label', B, 34, 'u32', false), f('mpls_tc', B, 35, 'u8', false), f('mpls_bos', B, 36, 'u8', false),
  f('pbb_isid', B, 37, 'u24', true), f('tunnel_id', B, 38, 'u64', true), f('ipv6_exthdr', B, 39, 'u16', true),
  // Nicira extensions (OVS meta-flow.h): registers, tunnel, mark, conjunction and conntrack fields.
  f('eth_dst_nxm', OFPXMC_NXM_0, 1, 'mac', true), f('eth_src_nxm', OFPXMC_NXM_0, 2, 'mac', true),
  ...Array.from({ length: 16 }, (_, i) => f(`reg${i}` as OxmFieldName, OFPXMC_NXM_1, i, 'u32', true)),
  f('tunnel_id_nxm', OFPXMC_NXM_1, 16, 'u64', true), f('tun_ipv4_src', OFPXMC_NXM_1, 31, 'ipv4', true),
  f('tun_ipv4_dst', OFPXMC_NXM_1, 32, 'ipv4', true), f('pkt_mark', OFPXMC_NXM_1, 33, 'u32', true),
  f('conj_id', OFPXMC_NXM_1, 37, 'u32', false), f('ct_state', OFPXMC_NXM_1, 105, 'u32', true),
  f('ct_zone', OFPXMC_NXM_1, 106, 'u16', false), f('ct_mark', OFPXMC_NXM_1, 107, 'u32', true),
  // The connection's original-direction tuple (OVS 2.8+), read-only, populated by the ct action.
  f('ct_nw_proto', OFPXMC_NXM_1, 119, 'u8', false), f('ct_nw_src', OFPXMC_NXM_1, 120, 'ipv4', true),
  f('ct_nw_dst', OFPXMC_NXM_1, 121, 'ipv4', true), f('ct_ipv6_src', OFPXMC_NXM_1, 122, 'ipv6', true),
  f('ct_ipv6_dst', OFPXMC_NXM_1, 123, 'ipv6', true), f('ct_tp_src', OFPXMC_NXM_1, 124, 'u16', true),
  f('ct_tp_dst', OFPXMC_NXM_1, 125, 'u16', true),
  // ONF EXT-256: PBB UCA bit, an experimenter OXM with a 2-byte exp_type after the experimenter id.
  { name: 'pbb_uca', oxmClass: OFPXMC_EXPERIMENTER, field: 0, type: 'u8', maskable: false, experimenter: { id: ONF_VENDOR_ID, expType: 2560 } },
  // TCP flags (OVS meta-flow.h): ONFOXM_ET_TCP_FLAGS is how OVS writes it in OpenFlow 1.3, NXM_NX_TCP_FLAGS the
  // Nicira form it also accepts. Matching needs ip_proto 6.
  { name: 'tcp_flags', oxmClass: OFPXMC_EXPERIMENTER, field: 42, type: 'u16', maskable: true, experimenter: { id: ONF_VENDOR_ID } },
  f('tcp_flags_nxm', OFPXMC_NXM_1, 34, 'u16', true),
];

const SIZE = SCALAR_SIZE;

type Reader = (b: Buffer, p: number) => OxmValue;
type FieldEncoder = (w: Writer, oxm: OxmTlv, path: string) => void;

function readerFor(type: ScalarType): Reader {
  switch (type) {
    case 'u8': return (b, p) => b[p];
    case 'u16': return (b, p) => (b[p] << 8) | b[p + 1];
    case 'u24': return (b, p) => (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
    case 'u32': return (b, p) => b[p] * 16777216 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
    case 'u64': return readU64;
    case 'mac': return readMac;
    case 'ipv4': return readIpv4;
    case 'ipv6': return readIpv6;
  }
}

/**
 * One field's encoder, generated from its table entry: the header (and experimenter prefix) bytes are
 * constants in the code and the value is checked and stored by the same generator the structures use.
 */
function compileFieldEncoder(decl: OxmFieldDecl): FieldEncoder {
  const size = SIZE[decl.type];
  const stores = (head: Uint8Array, withMask: boolean): string => {
    const total = head.length + (withMask ? 2 : 1) * size;
    const at = head.length;
    return `w.ensure(${total}); const b = w.buf; const p = w.pos;
      ${Array.from(head, (byte, k) => `b[p + ${k}] = ${byte};`).join(' ')}
      const v = oxm.value; ${scalarStore(decl.type, 'v', `p + ${at}`, 'path + ".value"')}
      ${withMask ? `const mv = oxm.mask; ${scalarStore(decl.type, 'mv', `p + ${at + size}`, 'path + ".mask"')}` : ''}
      w.pos = p + ${total};`;
  };
  const src = `return function encodeField(w, oxm, path) {
    if (oxm.mask === undefined) { ${stores(headBytes(decl, false), false)} return; }
    ${decl.maskable ? stores(headBytes(decl, true), true) : `H.notMaskable(path, ${JSON.stringify(decl.name)});`}
  };`;
  return new Function('H', src)(helpers) as FieldEncoder;
}

/** A table entry compiled into its header words, size and value reader/writer. */
interface CompiledField {
  decl: OxmFieldDecl;
  prefix: number; // experimenter id + exp_type bytes between header and value
  size: number;
  header: number; // without has-mask bit and length
  read: Reader;
  encode: FieldEncoder;
}

const byKey = new Map<number, CompiledField>();
const byName = new Map<string, CompiledField>();
/** The bytes before an OXM's value: class, field, has-mask bit, length, then any experimenter id and exp_type. */
function headBytes(decl: OxmFieldDecl, masked: boolean): Uint8Array {
  const prefix = experimenterPrefix(decl);
  const out = Buffer.alloc(4 + prefix);
  const len = prefix + (masked ? 2 : 1) * SIZE[decl.type];
  out.writeUInt32BE((((decl.oxmClass << 16) | (decl.field << 9) | (masked ? 0x100 : 0) | len) >>> 0), 0);
  if (decl.experimenter) {
    out.writeUInt32BE(decl.experimenter.id, 4);
    if (decl.experimenter.expType !== undefined) out.writeUInt16BE(decl.experimenter.expType, 8);
  }
  return new Uint8Array(out);
}

/** Bytes between an OXM header and its value: experimenter id (4) and, for EXT-256, exp_type (2). */
function experimenterPrefix(decl: OxmFieldDecl): number {
  if (!decl.experimenter) return 0;
  return decl.experimenter.expType === undefined ? 4 : 6;
}

for (const decl of OXM_FIELDS) {
  const compiled: CompiledField = {
    decl,
    prefix: experimenterPrefix(decl),
    size: SIZE[decl.type],
    header: ((decl.oxmClass << 16) | (decl.field << 9)) >>> 0,
    read: readerFor(decl.type),
    encode: compileFieldEncoder(decl),
  };
  byKey.set((decl.oxmClass << 7) | decl.field, compiled);
  byName.set(decl.name, compiled);
}

/** Table lookups for other modules (NX actions name fields by their OXM header). */
export function oxmFieldByHeader(header: number): OxmFieldDecl | undefined {
  return byKey.get(header >>> 9)?.decl;
}
export function oxmHeaderOf(name: string): number | undefined {
  const c = byName.get(name);
  return c ? (c.header | (c.size + c.prefix)) >>> 0 : undefined;
}
export function oxmFieldDecl(name: string): OxmFieldDecl | undefined {
  return byName.get(name)?.decl;
}
export function oxmFieldSize(name: string): number | undefined {
  return byName.get(name)?.size;
}

/** Decodes one OXM TLV at p (bounded by end). Unknown fields come back as { field: 'raw', bytes }. */
export function decodeOxm(b: Buffer, p: number, end: number): Oxm {
  if (end - p < 4) helpers.truncated('OXM header', p, end - p, 4);
  const header = b.readUInt32BE(p);
  const len = header & 0xff;
  if (len > end - p - 4) throw new OfpDecodeError(`OXM length ${len} overflows its match (${end - p - 4} bytes left)`, p);
  const next = p + 4 + len;
  const field = byKey.get(header >>> 9);
  const exp = field?.decl.experimenter;
  if (!field || (exp && (len < field.prefix || b.readUInt32BE(p + 4) !== exp.id
    || (exp.expType !== undefined && b.readUInt16BE(p + 8) !== exp.expType)))) {
    cursor.pos = next;
    return { field: 'raw', bytes: Buffer.from(b.subarray(p, next)) };
  }
  const hasMask = (header & 0x100) !== 0;
  const expect = field.prefix + (hasMask ? 2 * field.size : field.size);
  if (len !== expect) {
    throw new OfpDecodeError(`OXM ${field.decl.name} length ${len} is wrong (expected ${expect})`, p);
  }
  if (hasMask && !field.decl.maskable) throw new OfpDecodeError(`OXM ${field.decl.name} is not maskable but has a mask`, p);
  const vp = p + 4 + field.prefix;
  cursor.pos = next;
  return hasMask
    ? { field: field.decl.name, value: field.read(b, vp), mask: field.read(b, vp + field.size) }
    : { field: field.decl.name, value: field.read(b, vp) };
}

export function encodeOxm(w: Writer, oxm: Oxm, path: string): void {
  if (oxm === null || typeof oxm !== 'object') helpers.bad(path, oxm, 'an OXM object');
  if (oxm.field === 'raw') {
    const raw = oxm.bytes;
    if (!Buffer.isBuffer(raw) || raw.length < 4 || raw[3] !== raw.length - 4) {
      throw new OfpEncodeError(path, 'raw OXM bytes must be a whole TLV (4-byte header whose length matches)');
    }
    w.bytes(raw, path);
    return;
  }
  const field = byName.get(oxm.field);
  if (!field) throw new OfpEncodeError(path, `unknown OXM field ${String(oxm.field)}`);
  field.encode(w, oxm, path);
}

export const oxmCodec: Codec<Oxm> = { name: 'OXM', min: 4, dec: decodeOxm, enc: encodeOxm };

const OFPMT_OXM = 1;

/** ofp_match: type OXM, length without padding, the OXM TLVs, zero padding to 8 bytes. */
export const matchCodec: Codec<Oxm[]> = {
  name: 'match',
  min: 8,
  dec(b, o, end) {
    if (end - o < 4) helpers.truncated('match', o, end - o, 4);
    const type = (b[o] << 8) | b[o + 1];
    if (type !== OFPMT_OXM) throw new OfpDecodeError(`match type ${type} is not OXM (1)`, o);
    const len = (b[o + 2] << 8) | b[o + 3];
    if (len < 4) helpers.lenTooShort('match', o, len, 4);
    const padded = (len + 7) & ~7;
    if (padded > end - o) helpers.lenOverflow('match', o, padded, end - o);
    const e = o + len;
    const out: Oxm[] = [];
    let p = o + 4;
    while (p < e) {
      out.push(decodeOxm(b, p, e));
      p = cursor.pos;
    }
    cursor.pos = o + padded;
    return out;
  },
  enc(w, oxms, path) {
    if (!Array.isArray(oxms)) helpers.notArray(path);
    w.ensure(4);
    const o = w.pos;
    w.buf[o] = 0; w.buf[o + 1] = OFPMT_OXM;
    w.pos += 4;
    encodeElements(oxmCodec, w, oxms, path);
    const len = w.pos - o;
    if (len > 0xffff) helpers.tooLong(path, len);
    w.buf[o + 2] = len >>> 8; w.buf[o + 3] = len & 0xff;
    w.zeros(((len + 7) & ~7) - len);
  },
};
