// Nicira (OVS) experimenter actions, declared as data and registered by NX subtype in the action union.
// Wire formats: OVS include/openvswitch/ofp-actions.h and lib/ofp-actions.c (struct nx_action_*). Every NX action
// starts with ofp_action_experimenter_header (type 0xffff, len, experimenter 0x2320) and a 16-bit subtype, and
// is zero-padded to a multiple of 8 (counted in len).
import { Codec, Item, member, pad, tag16, tag32, len16, u16, u32, u64, u8, bytes, value, list, helpers } from './schema';
import { actionCodec, nxKey, nxUnknownAction } from './structures';
import { oxmFieldByHeader, oxmHeaderOf } from './oxm';
import { OfpDecodeError, OfpEncodeError } from './errors';
import { Writer, readIpv4, readIpv6, writeIpv4, writeIpv6 } from './wire';
import { NX_VENDOR_ID } from './constants';
import type { NxAction, NxActionController2, NxActionNat, NxField, NxLearnSpec, OxmFieldName } from './types';

const OFPAT_EXPERIMENTER = 0xffff;

/** The NX subtypes the codec types (OVS enum nx_action_subtype values). */
export const NXAST = {
  REG_MOVE: 6, REG_LOAD: 7, NOTE: 8, RESUBMIT_TABLE: 14, OUTPUT_REG: 15, LEARN: 16, FIN_TIMEOUT: 19,
  CONTROLLER: 20, DEC_TTL_CNT_IDS: 21, STACK_PUSH: 27, STACK_POP: 28, SAMPLE: 29, CONJUNCTION: 34, CT: 35,
  NAT: 36, CONTROLLER2: 37, SAMPLE2: 38, OUTPUT_TRUNC: 39, CT_CLEAR: 43,
} as const;

/** The 16-byte-aligned NX action header items followed by the body. */
const nxHead = (subtype: number): Item[] => [tag16(OFPAT_EXPERIMENTER), len16(8, true), tag32(NX_VENDOR_ID), tag16(subtype)];

/** Declares a Nicira action: NX header, then the body items; registered under its subtype. */
export function nxAction(subtype: number, typeName: string, body: Item[]): void {
  member(actionCodec, nxKey(subtype), typeName, `Nicira action ${typeName}`, [...nxHead(subtype), ...body]);
}

/**
 * A field named by its 32-bit NXM/OXM header: the OXM table's name when the header is exactly that field's
 * unmasked header, else the raw header number (so every header re-encodes to itself).
 */
export const nxFieldRef: Codec<OxmFieldName | number> = {
  name: 'NXM field header',
  min: 4,
  dec(b, o, end) {
    if (end - o < 4) helpers.truncated('NXM field header', o, end - o, 4);
    const header = b.readUInt32BE(o);
    helpers.cursor.pos = o + 4;
    const decl = oxmFieldByHeader(header);
    return decl && oxmHeaderOf(decl.name) === header ? decl.name : header;
  },
  enc(w, v, path) {
    const header = typeof v === 'string' ? oxmHeaderOf(v) : v;
    if (typeof header !== 'number' || header >>> 0 !== header) {
      throw new OfpEncodeError(path, `expected an OXM field name or a u32 NXM header, got ${String(v)}`);
    }
    w.ensure(4);
    w.buf.writeUInt32BE(header, w.pos);
    w.pos += 4;
  },
};
const field = (name: string): Item => value(name, nxFieldRef);

nxAction(NXAST.REG_MOVE, 'nx_reg_move', [u16('nBits'), u16('srcOfs'), u16('dstOfs'), field('srcField'), field('dstField')]);
nxAction(NXAST.REG_LOAD, 'nx_reg_load', [u16('ofsNbits'), field('dst'), u64('value')]);
// The note is every byte after the subtype, padding included, as ovs-ofctl and Ryu show it.
nxAction(NXAST.NOTE, 'nx_note', [bytes('note')]);
nxAction(NXAST.RESUBMIT_TABLE, 'nx_resubmit_table', [u16('inPort'), u8('tableId'), pad(3)]);
nxAction(NXAST.OUTPUT_REG, 'nx_output_reg', [u16('ofsNbits'), field('src'), u16('maxLen'), pad(6)]);
nxAction(NXAST.FIN_TIMEOUT, 'nx_fin_timeout', [u16('finIdleTimeout'), u16('finHardTimeout'), pad(2)]);
nxAction(NXAST.CONTROLLER, 'nx_controller', [u16('maxLen'), u16('controllerId'), u8('reason'), pad(1)]);
nxAction(NXAST.STACK_PUSH, 'nx_stack_push', [u16('start'), field('field'), u16('end'), pad(6)]);
nxAction(NXAST.STACK_POP, 'nx_stack_pop', [u16('start'), field('field'), u16('end'), pad(6)]);
nxAction(NXAST.SAMPLE, 'nx_sample', [u16('probability'), u32('collectorSetId'), u32('obsDomainId'), u32('obsPointId')]);
nxAction(NXAST.CONJUNCTION, 'nx_conjunction', [u8('clause'), u8('nClauses'), u32('id')]);
nxAction(NXAST.SAMPLE2, 'nx_sample2', [
  u16('probability'), u32('collectorSetId'), u32('obsDomainId'), u32('obsPointId'), u16('samplingPort'), pad(6),
]);
nxAction(NXAST.OUTPUT_TRUNC, 'nx_output_trunc', [u16('port'), u32('maxLen')]);
nxAction(NXAST.CT_CLEAR, 'nx_ct_clear', [pad(6)]);

// ---------------------------------------------------------------- variable-size bodies

/** nx_action_cnt_ids: u16 count, 4 pad bytes, then count u16 controller ids (the action pads to 8). */
const counterIds: Codec<number[]> = {
  name: 'dec_ttl_cnt_ids ids',
  min: 6,
  dec(b, o, end) {
    if (end - o < 6) helpers.truncated('dec_ttl_cnt_ids', o, end - o, 6);
    const count = (b[o] << 8) | b[o + 1];
    if (6 + 2 * count > end - o) helpers.lenOverflow('dec_ttl_cnt_ids ids', o, 6 + 2 * count, end - o);
    const ids: number[] = [];
    for (let p = o + 6; p < o + 6 + 2 * count; p += 2) ids.push((b[p] << 8) | b[p + 1]);
    helpers.cursor.pos = o + 6 + 2 * count;
    return ids;
  },
  enc(w, ids, path) {
    if (!Array.isArray(ids) || ids.length > 0xffff) helpers.bad(path, ids, 'an array of u16 controller ids');
    w.ensure(6 + 2 * ids.length);
    const b = w.buf;
    let p = w.pos;
    b.writeUInt16BE(ids.length, p);
    b.fill(0, p + 2, p + 6);
    p += 6;
    for (const id of ids) {
      if ((id & 0xffff) !== id) helpers.bad(`${path}[]`, id, 'u16');
      b.writeUInt16BE(id, p);
      p += 2;
    }
    w.pos = p;
  },
};

nxAction(NXAST.DEC_TTL_CNT_IDS, 'nx_dec_ttl_cnt_ids', [value('cntIds', counterIds)]);
nxAction(NXAST.CT, 'nx_ct', [
  u16('flags'), field('zoneSrc'), u16('zoneOfsNbits'), u8('recircTable'), pad(3), u16('alg'), list('actions', actionCodec),
]);

// ---------------------------------------------------------------- learn (nx_action_learn + flow_mod_spec)

const LEARN_SRC_IMMEDIATE = 0x2000;
const LEARN_DST_SHIFT = 11;
const LEARN_DST_TYPES = ['match', 'load', 'output'] as const;
const LEARN_N_BITS = 0x3ff;

/** Bytes of an immediate learn source: n_bits rounded up to whole 16-bit words. */
const immediateSize = (nBits: number): number => 2 * ((nBits + 15) >> 4);

function decodeSubfield(b: Buffer, p: number, end: number): NxField {
  if (end - p < 6) helpers.truncated('learn spec field', p, end - p, 6);
  const ref = nxFieldRef.dec(b, p, end);
  return { field: ref, ofs: (b[p + 4] << 8) | b[p + 5] };
}

function encodeSubfield(w: Writer, f: NxField, path: string): void {
  if (f === null || typeof f !== 'object') helpers.bad(path, f, 'a { field, ofs } object');
  nxFieldRef.enc(w, f.field, `${path}.field`);
  if ((f.ofs & 0xffff) !== f.ofs) helpers.bad(`${path}.ofs`, f.ofs, 'u16');
  w.ensure(2);
  w.buf.writeUInt16BE(f.ofs, w.pos);
  w.pos += 2;
}

/** The learn specs: each a 16-bit header (source kind, destination kind, n_bits) and its operands; a zero header or the end of the action ends the list (the zero bytes are padding). */
const learnSpecs: Codec<NxLearnSpec[]> = {
  name: 'learn specs',
  min: 0,
  dec(b, o, end) {
    const specs: NxLearnSpec[] = [];
    let p = o;
    while (end - p >= 2) {
      const header = (b[p] << 8) | b[p + 1];
      if (header === 0) break;
      const dstType = (header >> LEARN_DST_SHIFT) & 3;
      if ((header & 0xc000) !== 0 || dstType === 3) {
        throw new OfpDecodeError(`learn spec header 0x${header.toString(16)} uses reserved bits`, p);
      }
      const nBits = header & LEARN_N_BITS;
      p += 2;
      let src: NxField | Buffer;
      if (header & LEARN_SRC_IMMEDIATE) {
        const size = immediateSize(nBits);
        if (end - p < size) helpers.truncated('learn spec immediate', p, end - p, size);
        src = Buffer.from(b.subarray(p, p + size));
        p += size;
      } else {
        src = decodeSubfield(b, p, end);
        p += 6;
      }
      const type = LEARN_DST_TYPES[dstType];
      if (type === 'output') {
        specs.push({ type, nBits, src });
      } else {
        specs.push({ type, nBits, src, dst: decodeSubfield(b, p, end) });
        p += 6;
      }
    }
    helpers.cursor.pos = p;
    return specs;
  },
  enc(w, specs, path) {
    if (!Array.isArray(specs)) helpers.notArray(path);
    specs.forEach((spec, i) => {
      const at = `${path}[${i}]`;
      const dstType = LEARN_DST_TYPES.indexOf(spec?.type);
      if (dstType < 0) helpers.bad(`${at}.type`, spec?.type, "'match', 'load' or 'output'");
      if ((spec.nBits & LEARN_N_BITS) !== spec.nBits) helpers.bad(`${at}.nBits`, spec.nBits, 'a 10-bit bit count');
      const immediate = Buffer.isBuffer(spec.src);
      const header = (immediate ? LEARN_SRC_IMMEDIATE : 0) | (dstType << LEARN_DST_SHIFT) | spec.nBits;
      // A zero header is the end-of-specs marker, so such a spec could never be decoded back.
      if (header === 0) throw new OfpEncodeError(at, 'a match spec from a field needs nBits >= 1');
      w.ensure(2);
      w.buf.writeUInt16BE(header, w.pos);
      w.pos += 2;
      if (immediate) {
        const src = spec.src as Buffer;
        if (src.length !== immediateSize(spec.nBits)) {
          throw new OfpEncodeError(`${at}.src`, `immediate of ${spec.nBits} bits must be ${immediateSize(spec.nBits)} bytes, got ${src.length}`);
        }
        w.bytes(src, `${at}.src`);
      } else {
        encodeSubfield(w, spec.src as NxField, `${at}.src`);
      }
      if (spec.type !== 'output') encodeSubfield(w, spec.dst, `${at}.dst`);
    });
  },
};

nxAction(NXAST.LEARN, 'nx_learn', [
  u16('idleTimeout'), u16('hardTimeout'), u16('priority'), u64('cookie'), u16('flags'), u8('tableId'), pad(1),
  u16('finIdleTimeout'), u16('finHardTimeout'), value('specs', learnSpecs),
]);

// ---------------------------------------------------------------- actions with optional parts (nat, controller2)

/**
 * Registers an NX action whose body has optional parts the declaration language cannot express. decodeBody
 * returns undefined for a body that is well formed but not in the one canonical layout encodeBody writes
 * (unknown properties, reserved bits); such an action stays opaque (nx_unknown) so it still round-trips exactly.
 */
function nxOptionalParts<T extends NxAction>(subtype: number, typeName: T['type'],
  decodeBody: (b: Buffer, p: number, end: number) => T | undefined,
  encodeBody: (w: Writer, v: T, path: string) => void): void {
  const what = `Nicira action ${typeName}`;
  actionCodec.register(nxKey(subtype), typeName, {
    name: what,
    min: 16,
    dec(b, o, end) {
      const len = (b[o + 2] << 8) | b[o + 3];
      if (len < 16) helpers.lenTooShort(what, o, len, 16);
      if (len > end - o) helpers.lenOverflow(what, o, len, end - o);
      const decoded = decodeBody(b, o + 10, o + len);
      if (decoded === undefined) return nxUnknownAction.dec(b, o, end);
      helpers.cursor.pos = o + len;
      return decoded;
    },
    enc(w, v, path) {
      w.ensure(10);
      const o = w.pos;
      const b = w.buf;
      b.writeUInt16BE(OFPAT_EXPERIMENTER, o);
      b.writeUInt32BE(NX_VENDOR_ID, o + 4);
      b.writeUInt16BE(subtype, o + 8);
      w.pos = o + 10;
      encodeBody(w, v as T, path);
      const len = (w.pos - o + 7) & ~7;
      w.zeros(len - (w.pos - o));
      if (len > 0xffff) helpers.tooLong(path, len);
      w.buf.writeUInt16BE(len, o + 2);
    },
  });
}

/** NX_NAT_RANGE_* bits of range_present, in wire order, with the property each one fills. */
const NAT_RANGES = [
  { bit: 0x01, key: 'rangeIpv4Min', size: 4 }, { bit: 0x02, key: 'rangeIpv4Max', size: 4 },
  { bit: 0x04, key: 'rangeIpv6Min', size: 16 }, { bit: 0x08, key: 'rangeIpv6Max', size: 16 },
  { bit: 0x10, key: 'rangeProtoMin', size: 2 }, { bit: 0x20, key: 'rangeProtoMax', size: 2 },
] as const;
const NAT_KNOWN_BITS = 0x3f;

nxOptionalParts<NxActionNat>(NXAST.NAT, 'nx_nat', (b, o, end) => {
  // pad[2], flags, range_present, then the present range values in bit order.
  if (end - o < 6) helpers.truncated('Nicira action nx_nat', o, end - o, 6);
  const present = (b[o + 4] << 8) | b[o + 5];
  if (present & ~NAT_KNOWN_BITS) return undefined;
  const nat: NxActionNat = { type: 'nx_nat', flags: (b[o + 2] << 8) | b[o + 3] };
  let p = o + 6;
  for (const r of NAT_RANGES) {
    if (!(present & r.bit)) continue;
    if (end - p < r.size) helpers.truncated(`Nicira action nx_nat ${r.key}`, p, end - p, r.size);
    (nat as unknown as Record<string, unknown>)[r.key] = r.size === 4 ? readIpv4(b, p) : r.size === 16 ? readIpv6(b, p) : (b[p] << 8) | b[p + 1];
    p += r.size;
  }
  if (end - p >= 8) helpers.trailing('Nicira action nx_nat', p, end - p);
  return nat;
}, (w, nat, path) => {
  if ((nat.flags & 0xffff) !== nat.flags) helpers.bad(`${path}.flags`, nat.flags, 'u16');
  const values = nat as unknown as Record<string, unknown>;
  let present = 0;
  for (const r of NAT_RANGES) if (values[r.key] !== undefined) present |= r.bit;
  w.ensure(6 + 44);
  const b = w.buf;
  let p = w.pos;
  b.writeUInt16BE(0, p);
  b.writeUInt16BE(nat.flags, p + 2);
  b.writeUInt16BE(present, p + 4);
  p += 6;
  for (const r of NAT_RANGES) {
    const v = values[r.key];
    if (v === undefined) continue;
    const at = `${path}.${r.key}`;
    if (r.size === 4) writeIpv4(b, p, v, at);
    else if (r.size === 16) writeIpv6(b, p, v, at);
    else if (typeof v !== 'number' || (v & 0xffff) !== v) helpers.bad(at, v, 'u16');
    else b.writeUInt16BE(v, p);
    p += r.size;
  }
  w.pos = p;
});

/** NXAC2PT_* property types of controller2, in the order OVS writes them (the canonical order). */
const NXAC2PT = { MAX_LEN: 0, CONTROLLER_ID: 1, REASON: 2, USERDATA: 3, PAUSE: 4, METER_ID: 5 } as const;
/** Property lengths (header included, padding excluded); OVS stores a u16 in 4 bytes. */
const C2_LEN: Record<number, number> = {
  [NXAC2PT.MAX_LEN]: 8, [NXAC2PT.CONTROLLER_ID]: 8, [NXAC2PT.REASON]: 5, [NXAC2PT.PAUSE]: 4, [NXAC2PT.METER_ID]: 8,
};

nxOptionalParts<NxActionController2>(NXAST.CONTROLLER2, 'nx_controller2', (b, o, end) => {
  // zero[6], then ofp_prop_header TLVs each padded to 8.
  if (end - o < 6) helpers.truncated('Nicira action nx_controller2', o, end - o, 6);
  const c2: NxActionController2 = { type: 'nx_controller2' };
  let p = o + 6;
  let lastType = -1;
  while (p < end) {
    if (end - p < 4) return undefined;
    const type = (b[p] << 8) | b[p + 1];
    const len = (b[p + 2] << 8) | b[p + 3];
    const padded = (len + 7) & ~7;
    if (type <= lastType || type > NXAC2PT.METER_ID || len < 4 || padded > end - p) return undefined;
    if (type !== NXAC2PT.USERDATA && len !== C2_LEN[type]) return undefined;
    lastType = type;
    switch (type) {
      case NXAC2PT.MAX_LEN: c2.maxLen = (b[p + 4] << 8) | b[p + 5]; break;
      case NXAC2PT.CONTROLLER_ID: c2.controllerId = (b[p + 4] << 8) | b[p + 5]; break;
      case NXAC2PT.REASON: c2.reason = b[p + 4]; break;
      case NXAC2PT.USERDATA: c2.userdata = Buffer.from(b.subarray(p + 4, p + len)); break;
      case NXAC2PT.PAUSE: c2.pause = true; break;
      default: c2.meterId = b.readUInt32BE(p + 4);
    }
    p += padded;
  }
  return c2;
}, (w, c2, path) => {
  w.zeros(6);
  const prop = (type: number, len: number, write: (b: Buffer, p: number) => void): void => {
    const padded = (len + 7) & ~7;
    w.ensure(padded);
    w.buf.fill(0, w.pos, w.pos + padded);
    w.buf.writeUInt16BE(type, w.pos);
    w.buf.writeUInt16BE(len, w.pos + 2);
    write(w.buf, w.pos + 4);
    w.pos += padded;
  };
  const u16Prop = (type: number, v: number | undefined, name: string): void => {
    if (v === undefined) return;
    if ((v & 0xffff) !== v) helpers.bad(`${path}.${name}`, v, 'u16');
    prop(type, C2_LEN[type], (b, p) => b.writeUInt16BE(v, p));
  };
  u16Prop(NXAC2PT.MAX_LEN, c2.maxLen, 'maxLen');
  u16Prop(NXAC2PT.CONTROLLER_ID, c2.controllerId, 'controllerId');
  const reason = c2.reason;
  if (reason !== undefined) {
    if ((reason & 0xff) !== reason) helpers.bad(`${path}.reason`, reason, 'u8');
    prop(NXAC2PT.REASON, C2_LEN[NXAC2PT.REASON], (b, p) => { b[p] = reason; });
  }
  const userdata = c2.userdata;
  if (userdata !== undefined) {
    if (!Buffer.isBuffer(userdata)) throw new OfpEncodeError(`${path}.userdata`, 'expected a Buffer');
    if (userdata.length > 0xffff - 4) helpers.tooLong(`${path}.userdata`, userdata.length + 4);
    prop(NXAC2PT.USERDATA, 4 + userdata.length, (b, p) => userdata.copy(b, p));
  }
  if (c2.pause !== undefined && typeof c2.pause !== 'boolean') helpers.bad(`${path}.pause`, c2.pause, 'a boolean');
  if (c2.pause) prop(NXAC2PT.PAUSE, C2_LEN[NXAC2PT.PAUSE], () => undefined);
  const meterId = c2.meterId;
  if (meterId !== undefined) {
    if (meterId >>> 0 !== meterId) helpers.bad(`${path}.meterId`, meterId, 'u32');
    prop(NXAC2PT.METER_ID, C2_LEN[NXAC2PT.METER_ID], (b, p) => b.writeUInt32BE(meterId, p));
  }
});
