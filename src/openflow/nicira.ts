// Nicira (OVS) experimenter actions, declared as data and registered by NX subtype in the action union.
// Wire formats: OVS include/openvswitch/ofp-actions.h and lib/ofp-actions.c (struct nx_action_*). Every NX action
// starts with ofp_action_experimenter_header (type 0xffff, len, experimenter 0x2320) and a 16-bit subtype, and
// is zero-padded to a multiple of 8 (counted in len).
import { Codec, Item, member, pad, tag16, tag32, len16, u16, u32, u64, u8, bytes, value, helpers } from './schema';
import { actionCodec, nxKey } from './structures';
import { oxmFieldByHeader, oxmHeaderOf } from './oxm';
import { OfpEncodeError } from './errors';
import { NX_VENDOR_ID } from './constants';
import type { OxmFieldName } from './types';

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
