// Declarations of the OpenFlow 1.3 messages (spec section 7.3-7.5) and multipart bodies, registered by type code.
import {
  Item, StructCodec, bytes, compileStruct, list, pad, sizedList, str, tag32, u16, u32, u32s, u64, u8, union, member,
  value, mac, helpers,
} from './schema';
import { OfpDecodeError, OfpEncodeError } from './errors';
import { matchCodec } from './oxm';
import {
  actionCodec, bucketCodec, helloElementCodec, instructionCodec, meterBandCodec, packetQueueCodec, portCodec,
  tableFeaturesCodec,
} from './structures';
import { Writer, cursor } from './wire';
import { ONF_VENDOR_ID, ONFT13_ROLE_STATUS } from './constants';
import type { MultipartReplyBody, MultipartRequestBody, OfpMessage, OfpMessageType } from './types';

/** Body codec of one message type; the 8-byte header is handled by codec.ts. */
export interface MessageCodec {
  code: number;
  type: OfpMessageType;
  dec(b: Buffer, o: number, end: number, xid: number): OfpMessage;
  enc(w: Writer, m: OfpMessage, path: string): void;
  /** The body's declaration, for messages declared as one structure (the templates walk it). */
  struct?: StructCodec;
}

export const messagesByCode: (MessageCodec | undefined)[] = new Array(256);
export const messagesByName = new Map<string, MessageCodec>();

function register(codec: MessageCodec): void {
  messagesByCode[codec.code] = codec;
  messagesByName.set(codec.type, codec);
}

function message(code: number, type: OfpMessageType, items: Item[]): void {
  const struct = compileStruct({ name: type, typeName: type, withXid: true, items });
  register({
    code, type, struct,
    dec: (b, o, end, xid) => struct.decWithXid(b, o, end, xid) as unknown as OfpMessage,
    enc: (w, m, path) => struct.enc(w, m as unknown as Record<string, unknown>, path),
  });
}

const asyncMasks = [u32s('packetInMask', 2), u32s('portStatusMask', 2), u32s('flowRemovedMask', 2)];
const flowStatsFilter = [u8('tableId'), pad(3), u32('outPort'), u32('outGroup'), pad(4), u64('cookie'), u64('cookieMask'), value('match', matchCodec)];

message(0, 'hello', [list('elements', helloElementCodec)]);
// error: one of two layouts chosen by the type field, see errorMessage below.
message(2, 'echo_request', [bytes('data')]);
message(3, 'echo_reply', [bytes('data')]);
// experimenter: typed members by (experimenter, exp_type), else opaque; see experimenterMessage below.
message(5, 'features_request', []);
message(6, 'features_reply', [u64('datapathId'), u32('nBuffers'), u8('nTables'), u8('auxiliaryId'), pad(2), u32('capabilities'), u32('reserved')]);
message(7, 'get_config_request', []);
message(8, 'get_config_reply', [u16('flags'), u16('missSendLen')]);
message(9, 'set_config', [u16('flags'), u16('missSendLen')]);
message(10, 'packet_in', [u32('bufferId'), u16('totalLen'), u8('reason'), u8('tableId'), u64('cookie'), value('match', matchCodec), pad(2), bytes('data')]);
message(11, 'flow_removed', [
  u64('cookie'), u16('priority'), u8('reason'), u8('tableId'), u32('durationSec'), u32('durationNsec'),
  u16('idleTimeout'), u16('hardTimeout'), u64('packetCount'), u64('byteCount'), value('match', matchCodec),
]);
message(12, 'port_status', [u8('reason'), pad(7), value('desc', portCodec)]);
message(13, 'packet_out', [u32('bufferId'), u32('inPort'), sizedList('actions', actionCodec, 6), bytes('data')]);
message(14, 'flow_mod', [
  u64('cookie'), u64('cookieMask'), u8('tableId'), u8('command'), u16('idleTimeout'), u16('hardTimeout'),
  u16('priority'), u32('bufferId'), u32('outPort'), u32('outGroup'), u16('flags'), pad(2), value('match', matchCodec),
  list('instructions', instructionCodec),
]);
message(15, 'group_mod', [u16('command'), u8('groupType'), pad(1), u32('groupId'), list('buckets', bucketCodec)]);
message(16, 'port_mod', [u32('portNo'), pad(4), mac('hwAddr'), pad(2), u32('config'), u32('mask'), u32('advertise'), pad(4)]);
message(17, 'table_mod', [u8('tableId'), pad(3), u32('config')]);
// 18/19 multipart: see below.
message(20, 'barrier_request', []);
message(21, 'barrier_reply', []);
message(22, 'queue_get_config_request', [u32('port'), pad(4)]);
message(23, 'queue_get_config_reply', [u32('port'), pad(4), list('queues', packetQueueCodec)]);
message(24, 'role_request', [u32('role'), pad(4), u64('generationId')]);
message(25, 'role_reply', [u32('role'), pad(4), u64('generationId')]);
message(26, 'get_async_request', []);
message(27, 'get_async_reply', asyncMasks);
message(28, 'set_async', asyncMasks);
message(29, 'meter_mod', [u16('command'), u16('flags'), u32('meterId'), list('bands', meterBandCodec)]);

// ---------------------------------------------------------------- error (spec 7.4.4)

const OFPET_EXPERIMENTER = 0xffff;
const errorStandard = compileStruct({ name: 'error', typeName: 'error', withXid: true, items: [u16('errType'), u16('code'), bytes('data')] });
const errorExperimenter = compileStruct({
  name: 'error', typeName: 'error', withXid: true, items: [u16('errType'), u16('expType'), u32('experimenter'), bytes('data')],
});
register({
  code: 1, type: 'error',
  dec(b, o, end, xid) {
    if (end - o < 2) helpers.truncated('error', o, end - o, 2);
    const layout = b.readUInt16BE(o) === OFPET_EXPERIMENTER ? errorExperimenter : errorStandard;
    return layout.decWithXid(b, o, end, xid) as unknown as OfpMessage;
  },
  enc(w, m, path) {
    const layout = (m as { errType?: unknown }).errType === OFPET_EXPERIMENTER ? errorExperimenter : errorStandard;
    layout.enc(w, m as unknown as Record<string, unknown>, path);
  },
});

// ---------------------------------------------------------------- experimenter messages (spec 7.5.4)

const OFPT_EXPERIMENTER = 4;
const experimenterOpaque = compileStruct({
  name: 'experimenter', typeName: 'experimenter', withXid: true, items: [u32('experimenter'), u32('expType'), bytes('data')],
});
/** Typed experimenter messages by experimenter id and exp_type; each body has a fixed size. */
const experimenterTyped = new Map<bigint, StructCodec>();
const experimenterKey = (experimenter: number, expType: number): bigint => (BigInt(experimenter) << 32n) | BigInt(expType);

/**
 * Declares a typed experimenter message: its own type name, encoded as OFPT_EXPERIMENTER with the two ids
 * first. A body of exactly the declared size decodes typed; a longer one (e.g. with the optional
 * properties the extension allows) stays an opaque 'experimenter' message, so it still re-encodes exactly.
 */
function experimenterMessage(experimenter: number, expType: number, type: OfpMessageType, body: Item[]): void {
  const struct = compileStruct({ name: type, typeName: type, withXid: true, items: [tag32(experimenter), tag32(expType), ...body] });
  experimenterTyped.set(experimenterKey(experimenter, expType), struct);
  messagesByName.set(type, {
    code: OFPT_EXPERIMENTER, type, struct,
    dec: (b, o, end, xid) => struct.decWithXid(b, o, end, xid) as unknown as OfpMessage,
    enc: (w, m, path) => struct.enc(w, m as unknown as Record<string, unknown>, path),
  });
}

register({
  code: OFPT_EXPERIMENTER, type: 'experimenter',
  dec(b, o, end, xid) {
    if (end - o >= 8) {
      const typed = experimenterTyped.get(experimenterKey(b.readUInt32BE(o), b.readUInt32BE(o + 4)));
      if (typed && end - o <= typed.min) return typed.decWithXid(b, o, end, xid) as unknown as OfpMessage;
    }
    return experimenterOpaque.decWithXid(b, o, end, xid) as unknown as OfpMessage;
  },
  enc: (w, m, path) => experimenterOpaque.enc(w, m as unknown as Record<string, unknown>, path),
  struct: experimenterOpaque,
});

// ONF's OpenFlow 1.3 extension of the 1.4 role status (ofp14_role_status, OVS ONFT13_ROLE_STATUS): the switch tells a
// master it was demoted. Optional role properties follow in 1.4; OVS sends none.
experimenterMessage(ONF_VENDOR_ID, ONFT13_ROLE_STATUS, 'onf_role_status', [u32('role'), u8('reason'), pad(3), u64('generationId')]);

// ---------------------------------------------------------------- multipart (spec 7.3.5)

const MP_NAMES = [
  'desc', 'flow', 'aggregate', 'table', 'port_stats', 'queue', 'group', 'group_desc', 'group_features', 'meter',
  'meter_config', 'meter_features', 'table_features', 'port_desc',
] as const;
const OFPMP_EXPERIMENTER = 0xffff;
const mpCode = (name: string): number => (name === 'experimenter' ? OFPMP_EXPERIMENTER : MP_NAMES.indexOf(name as never));

const requestBodies = union<MultipartRequestBody>({ name: 'multipart request', peekSize: 0, peek: () => -1, typeKey: 'mpType' });
const replyBodies = union<MultipartReplyBody>({ name: 'multipart reply', peekSize: 0, peek: () => -1, typeKey: 'mpType' });
const body = (u: typeof requestBodies | typeof replyBodies, mpType: string, items: Item[]): StructCodec =>
  member(u as typeof requestBodies, mpCode(mpType), mpType, `${u.name} ${mpType}`, items, 'mpType');
const entries = (name: string, items: Item[]): Item[] => [list('entries', compileStruct({ name, items }))];

body(requestBodies, 'desc', []);
body(requestBodies, 'flow', flowStatsFilter);
body(requestBodies, 'aggregate', flowStatsFilter);
body(requestBodies, 'table', []);
body(requestBodies, 'port_stats', [u32('portNo'), pad(4)]);
body(requestBodies, 'queue', [u32('portNo'), u32('queueId')]);
body(requestBodies, 'group', [u32('groupId'), pad(4)]);
body(requestBodies, 'group_desc', []);
body(requestBodies, 'group_features', []);
body(requestBodies, 'meter', [u32('meterId'), pad(4)]);
body(requestBodies, 'meter_config', [u32('meterId'), pad(4)]);
body(requestBodies, 'meter_features', []);
body(requestBodies, 'table_features', [list('entries', tableFeaturesCodec)]);
body(requestBodies, 'port_desc', []);
body(requestBodies, 'experimenter', [u32('experimenter'), u32('expType'), bytes('data')]);

const DESC_STR_LEN = 256;
const SERIAL_NUM_LEN = 32;
body(replyBodies, 'desc', [str('mfrDesc', DESC_STR_LEN), str('hwDesc', DESC_STR_LEN), str('swDesc', DESC_STR_LEN), str('serialNum', SERIAL_NUM_LEN), str('dpDesc', DESC_STR_LEN)]);
body(replyBodies, 'flow', entries('flow stats', [
  { kind: 'selfLen', align: 1, countsPad: true }, u8('tableId'), pad(1), u32('durationSec'), u32('durationNsec'),
  u16('priority'), u16('idleTimeout'), u16('hardTimeout'), u16('flags'), pad(4), u64('cookie'), u64('packetCount'),
  u64('byteCount'), value('match', matchCodec), list('instructions', instructionCodec),
]));
body(replyBodies, 'aggregate', [u64('packetCount'), u64('byteCount'), u32('flowCount'), pad(4)]);
body(replyBodies, 'table', entries('table stats', [u8('tableId'), pad(3), u32('activeCount'), u64('lookupCount'), u64('matchedCount')]));
body(replyBodies, 'port_stats', entries('port stats', [
  u32('portNo'), pad(4), ...['rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxDropped', 'txDropped', 'rxErrors',
    'txErrors', 'rxFrameErr', 'rxOverErr', 'rxCrcErr', 'collisions'].map(u64), u32('durationSec'), u32('durationNsec'),
]));
body(replyBodies, 'queue', entries('queue stats', [
  u32('portNo'), u32('queueId'), u64('txBytes'), u64('txPackets'), u64('txErrors'), u32('durationSec'), u32('durationNsec'),
]));
const bucketCounter = compileStruct({ name: 'bucket counter', items: [u64('packetCount'), u64('byteCount')] });
body(replyBodies, 'group', entries('group stats', [
  { kind: 'selfLen', align: 1, countsPad: true }, pad(2), u32('groupId'), u32('refCount'), pad(4), u64('packetCount'),
  u64('byteCount'), u32('durationSec'), u32('durationNsec'), list('bucketStats', bucketCounter),
]));
body(replyBodies, 'group_desc', entries('group desc', [
  { kind: 'selfLen', align: 1, countsPad: true }, u8('groupType'), pad(1), u32('groupId'), list('buckets', bucketCodec),
]));
body(replyBodies, 'group_features', [u32('types'), u32('capabilities'), u32s('maxGroups', 4), u32s('actions', 4)]);
const meterBandStats = compileStruct({ name: 'meter band stats', items: [u64('packetBandCount'), u64('byteBandCount')] });
body(replyBodies, 'meter', entries('meter stats', [
  u32('meterId'), { kind: 'selfLen', align: 1, countsPad: true }, pad(6), u32('flowCount'), u64('packetInCount'),
  u64('byteInCount'), u32('durationSec'), u32('durationNsec'), list('bandStats', meterBandStats),
]));
body(replyBodies, 'meter_config', entries('meter config', [
  { kind: 'selfLen', align: 1, countsPad: true }, u16('flags'), u32('meterId'), list('bands', meterBandCodec),
]));
body(replyBodies, 'meter_features', entries('meter features', [
  u32('maxMeter'), u32('bandTypes'), u32('capabilities'), u8('maxBands'), u8('maxColor'), pad(2),
]));
body(replyBodies, 'table_features', [list('entries', tableFeaturesCodec)]);
body(replyBodies, 'port_desc', [list('entries', portCodec)]);
body(replyBodies, 'experimenter', [u32('experimenter'), u32('expType'), bytes('data')]);

/** ofp_multipart_request/reply: type, flags, 4 pad bytes, then the body registered for the type. */
function multipart(code: number, type: 'multipart_request' | 'multipart_reply', bodies: typeof requestBodies | typeof replyBodies): void {
  register({
    code, type,
    dec(b, o, end, xid) {
      if (end - o < 8) helpers.truncated(type, o, end - o, 8);
      const mpType = b.readUInt16BE(o);
      const flags = b.readUInt16BE(o + 2);
      const codec = bodies.memberByKey(mpType);
      if (!codec) throw new OfpDecodeError(`unknown multipart type ${mpType}`, o);
      const decoded = codec.dec(b, o + 8, end);
      if (cursor.pos !== end) helpers.trailing(`${type} ${MP_NAMES[mpType] ?? 'experimenter'}`, cursor.pos, end - cursor.pos);
      return { type, xid, flags, body: decoded } as OfpMessage;
    },
    enc(w, m, path) {
      const msg = m as Extract<OfpMessage, { type: typeof type }>;
      const mpType = msg.body && typeof msg.body === 'object' ? bodies.keyOf(msg.body.mpType) : undefined;
      if (mpType === undefined) throw new OfpEncodeError(`${path}.body`, `unknown multipart type ${String(msg.body?.mpType)}`);
      const flags = msg.flags;
      if ((flags & 0xffff) !== flags) helpers.bad(`${path}.flags`, flags, 'u16');
      w.ensure(8);
      w.buf.writeUInt16BE(mpType, w.pos);
      w.buf.writeUInt16BE(flags, w.pos + 2);
      w.buf.writeUInt32BE(0, w.pos + 4);
      w.pos += 8;
      bodies.memberByKey(mpType)!.enc(w, msg.body, `${path}.body`);
    },
  });
}
multipart(18, 'multipart_request', requestBodies);
multipart(19, 'multipart_reply', replyBodies);
