// Declarations of the nested OpenFlow 1.3 structures: actions, instructions, buckets, meter bands, ports,
// hello elements, queue properties and table-feature properties. Each is declared once; the same
// declaration decodes and encodes.
import {
  Codec, Item, UnionCodec, bytes, compileStruct, custom, len16, list, member, numbers, pad, str, tag16, u16, u32,
  u64, u8, union, value, mac, helpers, encodeElements,
} from './schema';
import { cursor } from './wire';
import { oxmCodec } from './oxm';
import type { Action, Instruction, MeterBand, HelloElement, QueueProperty, TableFeatureProperty, OfpPort } from './types';
import { NX_VENDOR_ID } from './constants';

const OFP_EXPERIMENTER_TYPE = 0xffff;
/** Registry key of a Nicira action: above the 16-bit type space so both live in one Map. */
export const nxKey = (subtype: number): number => 0x10000 + subtype;

// ---------------------------------------------------------------- actions (spec 7.2.5)

export const actionCodec: UnionCodec<Action> = union<Action>({
  name: 'action',
  peekSize: 4,
  peek(b, o, end) {
    const type = (b[o] << 8) | b[o + 1];
    if (type === OFP_EXPERIMENTER_TYPE && end - o >= 10 && b.readUInt32BE(o + 4) === NX_VENDOR_ID) {
      return nxKey((b[o + 8] << 8) | b[o + 9]);
    }
    return type;
  },
  fallback: (key) => (key >= 0x10000 ? nxUnknownAction : key === OFP_EXPERIMENTER_TYPE ? experimenterAction : undefined),
  describeKey: (key) => (key >= 0x10000 ? `Nicira subtype ${key - 0x10000}` : `type ${key}`),
});

/** Declares an action: ofp_action_header (type, len padded to 8) followed by the body items. */
export function action(code: number, typeName: string, body: Item[]): void {
  member(actionCodec, code, typeName, `action ${typeName}`, [tag16(code), len16(8, true), ...body]);
}

action(0, 'output', [u32('port'), u16('maxLen'), pad(6)]);
action(11, 'copy_ttl_out', [pad(4)]);
action(12, 'copy_ttl_in', [pad(4)]);
action(15, 'set_mpls_ttl', [u8('mplsTtl'), pad(3)]);
action(16, 'dec_mpls_ttl', [pad(4)]);
action(17, 'push_vlan', [u16('ethertype'), pad(2)]);
action(18, 'pop_vlan', [pad(4)]);
action(19, 'push_mpls', [u16('ethertype'), pad(2)]);
action(20, 'pop_mpls', [u16('ethertype'), pad(2)]);
action(21, 'set_queue', [u32('queueId')]);
action(22, 'group', [u32('groupId')]);
action(23, 'set_nw_ttl', [u8('nwTtl'), pad(3)]);
action(24, 'dec_nw_ttl', [pad(4)]);
// set_field: one OXM, then zero padding to 8 (counted in len).
action(25, 'set_field', [value('field', oxmCodec)]);
action(26, 'push_pbb', [u16('ethertype'), pad(2)]);
action(27, 'pop_pbb', [pad(4)]);

/** Any experimenter action without a typed form: its body is kept byte for byte. */
const experimenterAction = compileStruct({
  name: 'action experimenter', typeName: 'experimenter',
  items: [tag16(OFP_EXPERIMENTER_TYPE), len16(8, true), u32('experimenter'), bytes('data')],
});
actionCodec.register(OFP_EXPERIMENTER_TYPE, 'experimenter', experimenterAction);

/** A Nicira action with a subtype the codec does not type: body after the subtype kept byte for byte. */
export const nxUnknownAction = compileStruct({
  name: 'Nicira action', typeName: 'nx_unknown',
  items: [tag16(OFP_EXPERIMENTER_TYPE), len16(8, true), { kind: 'tag', width: 4, value: NX_VENDOR_ID }, u16('subtype'), bytes('data')],
});
actionCodec.register(nxKey(0xffff), 'nx_unknown', nxUnknownAction);

export const actionList: Codec<Action[]> = custom<Action[]>('action list', 0,
  (b, o, end) => {
    const out: Action[] = [];
    let p = o;
    while (p < end) { out.push(actionCodec.dec(b, p, end)); p = cursor.pos; }
    cursor.pos = p;
    return out;
  },
  (w, v, path) => {
    if (!Array.isArray(v)) helpers.notArray(path);
    encodeElements(actionCodec, w, v, path);
  });

// ---------------------------------------------------------------- instructions (spec 7.2.4)

export const instructionCodec = union<Instruction>({
  name: 'instruction', peekSize: 4, peek: (b, o) => (b[o] << 8) | b[o + 1],
});
const instruction = (code: number, typeName: string, body: Item[]): void => {
  member(instructionCodec, code, typeName, `instruction ${typeName}`, [tag16(code), len16(8, true), ...body]);
};
instruction(1, 'goto_table', [u8('tableId'), pad(3)]);
instruction(2, 'write_metadata', [pad(4), u64('metadata'), u64('metadataMask')]);
instruction(3, 'write_actions', [pad(4), list('actions', actionCodec)]);
instruction(4, 'apply_actions', [pad(4), list('actions', actionCodec)]);
instruction(5, 'clear_actions', [pad(4)]);
instruction(6, 'meter', [u32('meterId')]);
instruction(OFP_EXPERIMENTER_TYPE, 'experimenter', [u32('experimenter'), bytes('data')]);

// ---------------------------------------------------------------- groups and meters

export const bucketCodec = compileStruct({
  name: 'bucket',
  items: [len16(1), u16('weight'), u32('watchPort'), u32('watchGroup'), pad(4), list('actions', actionCodec)],
});

export const meterBandCodec = union<MeterBand>({
  name: 'meter band', peekSize: 4, peek: (b, o) => (b[o] << 8) | b[o + 1],
});
const band = (code: number, typeName: string, body: Item[]): void => {
  member(meterBandCodec, code, typeName, `meter band ${typeName}`, [tag16(code), len16(1), u32('rate'), u32('burstSize'), ...body]);
};
band(1, 'drop', [pad(4)]);
band(2, 'dscp_remark', [u8('precLevel'), pad(3)]);
band(OFP_EXPERIMENTER_TYPE, 'experimenter', [u32('experimenter'), bytes('data')]);

// ---------------------------------------------------------------- ports (spec 7.2.1)

export const portCodec = compileStruct<OfpPort>({
  name: 'port',
  items: [
    u32('portNo'), pad(4), mac('hwAddr'), pad(2), str('name', 16), u32('config'), u32('state'), u32('curr'),
    u32('advertised'), u32('supported'), u32('peer'), u32('currSpeed'), u32('maxSpeed'),
  ],
});

// ---------------------------------------------------------------- hello elements (spec 7.5.1)

/** The version bitmap words as the list of version numbers whose bit is set. */
const versionBitmap = custom<number[]>('version bitmap', 0,
  (b, o, end) => {
    if ((end - o) % 4 !== 0) helpers.trailing('version bitmap', o, (end - o) % 4);
    const versions: number[] = [];
    for (let p = o; p < end; p += 4) {
      const word = b.readUInt32BE(p);
      for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) versions.push(((p - o) / 4) * 32 + bit);
    }
    cursor.pos = end;
    return versions;
  },
  (w, versions, path) => {
    if (!Array.isArray(versions) || versions.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffff)) {
      helpers.bad(path, versions, 'a list of version numbers');
    }
    const words = new Array<number>(versions.length ? Math.floor(Math.max(...versions) / 32) + 1 : 0).fill(0);
    for (const v of versions) words[v >> 5] = (words[v >> 5] | (1 << (v & 31))) >>> 0;
    w.ensure(4 * words.length);
    for (const word of words) { w.buf.writeUInt32BE(word, w.pos); w.pos += 4; }
  });

export const helloElementCodec = union<HelloElement>({
  name: 'hello element', peekSize: 4, peek: (b, o) => (b[o] << 8) | b[o + 1],
  fallback: () => unknownHelloElement,
});
member(helloElementCodec, 1, 'versionbitmap', 'hello element versionbitmap', [tag16(1), len16(8, false), value('versions', versionBitmap)]);
const unknownHelloElement = compileStruct({
  name: 'hello element', typeName: 'unknown', items: [u16('elemType'), len16(8, false), bytes('data')],
});
helloElementCodec.register(0x10000, 'unknown', unknownHelloElement);

// ---------------------------------------------------------------- queue properties (spec 7.2.2)

export const queuePropertyCodec = union<QueueProperty>({
  name: 'queue property', peekSize: 4, peek: (b, o) => (b[o] << 8) | b[o + 1],
});
// Queue property lengths are taken as they are, without padding (4-36 in the golden vectors is unaligned).
member(queuePropertyCodec, 1, 'min_rate', 'queue property min_rate', [tag16(1), len16(1), pad(4), u16('rate'), pad(6)]);
member(queuePropertyCodec, 2, 'max_rate', 'queue property max_rate', [tag16(2), len16(1), pad(4), u16('rate'), pad(6)]);
member(queuePropertyCodec, OFP_EXPERIMENTER_TYPE, 'experimenter', 'queue property experimenter',
  [tag16(OFP_EXPERIMENTER_TYPE), len16(1), pad(4), u32('experimenter'), pad(4), bytes('data')]);

export const packetQueueCodec = compileStruct({
  name: 'packet queue', items: [u32('queueId'), u32('port'), len16(1), pad(6), list('properties', queuePropertyCodec)],
});

// ---------------------------------------------------------------- table features (spec 7.3.5.5)

/** Instruction/action ids: type, length, and experimenter bytes if any. */
const tlvIdCodec = compileStruct({ name: 'id', items: [u16('type'), len16(1), bytes('data')] });

export const tableFeaturePropCodec = union<TableFeatureProperty>({
  name: 'table feature property', peekSize: 4, peek: (b, o) => (b[o] << 8) | b[o + 1],
  fallback: () => unknownTableFeatureProp,
});
const tableProp = (code: number, typeName: string, body: Item[]): void => {
  member(tableFeaturePropCodec, code, typeName, `table feature property ${typeName}`, [tag16(code), len16(8, false), ...body]);
};
tableProp(0, 'instructions', [list('instructionIds', tlvIdCodec)]);
tableProp(1, 'instructions_miss', [list('instructionIds', tlvIdCodec)]);
tableProp(2, 'next_tables', [numbers('tableIds', 1)]);
tableProp(3, 'next_tables_miss', [numbers('tableIds', 1)]);
tableProp(4, 'write_actions', [list('actionIds', tlvIdCodec)]);
tableProp(5, 'write_actions_miss', [list('actionIds', tlvIdCodec)]);
tableProp(6, 'apply_actions', [list('actionIds', tlvIdCodec)]);
tableProp(7, 'apply_actions_miss', [list('actionIds', tlvIdCodec)]);
tableProp(8, 'match', [numbers('oxmIds', 4)]);
tableProp(10, 'wildcards', [numbers('oxmIds', 4)]);
tableProp(12, 'write_setfield', [numbers('oxmIds', 4)]);
tableProp(13, 'write_setfield_miss', [numbers('oxmIds', 4)]);
tableProp(14, 'apply_setfield', [numbers('oxmIds', 4)]);
tableProp(15, 'apply_setfield_miss', [numbers('oxmIds', 4)]);
tableProp(0xfffe, 'experimenter', [u32('experimenter'), u32('expType'), numbers('data', 4)]);
tableProp(0xffff, 'experimenter_miss', [u32('experimenter'), u32('expType'), numbers('data', 4)]);
const unknownTableFeatureProp = compileStruct({
  name: 'table feature property', typeName: 'unknown', items: [u16('propType'), len16(8, false), bytes('data')],
});
tableFeaturePropCodec.register(0x10000, 'unknown', unknownTableFeatureProp);

export const tableFeaturesCodec = compileStruct({
  name: 'table features',
  items: [
    len16(1), u8('tableId'), pad(5), str('name', 32), u64('metadataMatch'), u64('metadataWrite'), u32('config'),
    u32('maxEntries'), list('properties', tableFeaturePropCodec),
  ],
});
