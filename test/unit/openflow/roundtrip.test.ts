// Round-trip properties over random VALID messages from a seeded generator: decode(encode(m)) deep-equals m and
// encode(decode(b)) is b, for every message type, action, instruction, OXM field (masked where maskable) and
// multipart body. Values are drawn at random and non-zero, so a field written into another's slot shows up.
// VADC_ROUNDTRIP_COUNT and VADC_ROUNDTRIP_SEED change the run.
import { isDeepStrictEqual } from 'util';
import { decode, encode } from '../../../src/openflow';
import { OXM_FIELDS } from '../../../src/openflow/oxm';
import { messagesByName } from '../../../src/openflow/messages';
import type {
  Action, Bucket, Instruction, MeterBand, MultipartReplyBody, MultipartRequestBody, NxField, NxLearnSpec, OfpMessage,
  OfpPort, Oxm, OxmFieldName, QueueProperty, TableFeatureProperty, TableFeatures,
} from '../../../src/openflow';

const COUNT = Number(process.env.VADC_ROUNDTRIP_COUNT ?? 4000);
const SEED = Number(process.env.VADC_ROUNDTRIP_SEED ?? 7);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
let r = mulberry32(SEED);

/** A non-zero integer below 2^bits. */
const int = (bits: number): number => 1 + Math.floor(r() * (2 ** bits - 1));
const big = (): bigint => (BigInt(int(32)) << 32n) | BigInt(int(32));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const some = <T>(max: number, gen: () => T): T[] => Array.from({ length: Math.floor(r() * (max + 1)) }, gen);
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(8)));
/** n bytes so that head + n is a multiple of 8 (bodies whose length counts their padding). */
const alignedBytes = (head: number): Buffer => bytes(((8 - (head % 8)) % 8) + 8 * Math.floor(r() * 3));
const hex2 = (): string => int(8).toString(16).padStart(2, '0');
const macText = (): string => Array.from({ length: 6 }, hex2).join(':');
const ipv4Text = (): string => Array.from({ length: 4 }, () => int(8)).join('.');
/** RFC 5952 text (as the codec decodes it) from the platform's own formatter; zero groups on purpose. */
const ipv6Text = (): string => new URL(`http://[${Array.from({ length: 8 }, () => (r() < 0.3 ? 0 : int(16)).toString(16)).join(':')}]`).hostname.slice(1, -1);
const text = (max: number): string => Array.from({ length: 1 + Math.floor(r() * max) }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');

const BITS: Record<string, number> = { u8: 8, u16: 16, u24: 24, u32: 32 };
function oxmValue(type: string): string | bigint | number {
  if (type === 'u64') return big();
  if (type === 'mac') return macText();
  if (type === 'ipv4') return ipv4Text();
  if (type === 'ipv6') return ipv6Text();
  return int(BITS[type]);
}
function oxm(): Oxm {
  if (r() < 0.05) return { field: 'raw', bytes: Buffer.concat([Buffer.from([0x7f, 0xfe, 0x02, 3]), bytes(3)]) };
  const decl = pick(OXM_FIELDS);
  const v = { field: decl.name, value: oxmValue(decl.type) } as Oxm & { mask?: unknown };
  if (decl.maskable && r() < 0.5) v.mask = oxmValue(decl.type);
  return v as Oxm;
}
const match = (): Oxm[] => some(6, oxm);

const FIELD_NAMES: OxmFieldName[] = ['reg0', 'reg7', 'tcp_src', 'ipv4_dst', 'eth_src', 'ct_mark', 'tunnel_id'];
const fieldRef = (): OxmFieldName | number => (r() < 0.8 ? pick(FIELD_NAMES) : 0x7ffe0000 + int(8));
const subfield = (): NxField => ({ field: fieldRef(), ofs: int(8) });
function learnSpec(): NxLearnSpec {
  const nBits = int(9);
  const src = r() < 0.4 ? bytes(2 * ((nBits + 15) >> 4)) : subfield();
  const type = pick(['match', 'load', 'output'] as const);
  return type === 'output' ? { type, nBits, src } : { type, nBits, src, dst: subfield() };
}

function nxAction(depth: number): Action {
  const gens: (() => Action)[] = [
    () => ({ type: 'nx_fin_timeout', finIdleTimeout: int(16), finHardTimeout: int(16) }),
    () => ({ type: 'nx_resubmit_table', inPort: int(16), tableId: int(8) }),
    () => ({ type: 'nx_reg_move', nBits: int(16), srcOfs: int(16), dstOfs: int(16), srcField: fieldRef(), dstField: fieldRef() }),
    () => ({ type: 'nx_reg_load', ofsNbits: int(16), dst: fieldRef(), value: big() }),
    () => ({ type: 'nx_note', note: alignedBytes(10) }),
    () => ({ type: 'nx_controller', maxLen: int(16), controllerId: int(16), reason: int(8) }),
    () => ({ type: 'nx_output_reg', ofsNbits: int(16), src: fieldRef(), maxLen: int(16) }),
    () => ({ type: 'nx_conjunction', clause: int(8), nClauses: int(8), id: int(32) }),
    () => ({ type: 'nx_dec_ttl_cnt_ids', cntIds: some(6, () => int(16)) }),
    () => ({ type: pick(['nx_stack_push', 'nx_stack_pop'] as const), start: int(16), field: fieldRef(), end: int(16) }),
    () => ({ type: 'nx_sample', probability: int(16), collectorSetId: int(32), obsDomainId: int(32), obsPointId: int(32) }),
    () => ({ type: 'nx_sample2', probability: int(16), collectorSetId: int(32), obsDomainId: int(32), obsPointId: int(32), samplingPort: int(16) }),
    () => ({ type: 'nx_output_trunc', port: int(16), maxLen: int(32) }),
    () => ({ type: 'nx_ct_clear' }),
    () => ({ type: 'nx_ct', flags: int(16), zoneSrc: fieldRef(), zoneOfsNbits: int(16), recircTable: int(8), alg: int(16), actions: depth > 0 ? [] : some(2, () => action(depth + 1)) }),
    () => {
      const nat: Action = { type: 'nx_nat', flags: int(16) };
      if (r() < 0.5) { nat.rangeIpv4Min = ipv4Text(); nat.rangeIpv4Max = ipv4Text(); }
      if (r() < 0.5) nat.rangeIpv6Min = ipv6Text();
      if (r() < 0.5) nat.rangeIpv6Max = ipv6Text();
      if (r() < 0.5) nat.rangeProtoMin = int(16);
      if (r() < 0.5) nat.rangeProtoMax = int(16);
      return nat;
    },
    () => ({ type: 'nx_learn', idleTimeout: int(16), hardTimeout: int(16), priority: int(16), cookie: big(), flags: int(16), tableId: int(8), finIdleTimeout: int(16), finHardTimeout: int(16), specs: some(4, learnSpec) }),
    () => {
      const c2: Action = { type: 'nx_controller2' };
      if (r() < 0.7) c2.maxLen = int(16);
      if (r() < 0.7) c2.controllerId = int(16);
      if (r() < 0.7) c2.reason = int(8);
      if (r() < 0.7) c2.userdata = bytes(int(4));
      if (r() < 0.5) c2.pause = true;
      return c2;
    },
    // Subtypes 200+ are not typed by the codec, so they stay opaque.
    () => ({ type: 'nx_unknown', subtype: 200 + int(6), data: alignedBytes(10) }),
  ];
  return pick(gens)();
}

function action(depth = 0): Action {
  if (r() < 0.4) return nxAction(depth);
  const gens: (() => Action)[] = [
    () => ({ type: 'output', port: int(32), maxLen: int(16) }), () => ({ type: 'copy_ttl_out' }), () => ({ type: 'copy_ttl_in' }),
    () => ({ type: 'set_mpls_ttl', mplsTtl: int(8) }), () => ({ type: 'dec_mpls_ttl' }), () => ({ type: 'push_vlan', ethertype: int(16) }),
    () => ({ type: 'pop_vlan' }), () => ({ type: 'push_mpls', ethertype: int(16) }), () => ({ type: 'pop_mpls', ethertype: int(16) }),
    () => ({ type: 'set_queue', queueId: int(32) }), () => ({ type: 'group', groupId: int(32) }), () => ({ type: 'set_nw_ttl', nwTtl: int(8) }),
    () => ({ type: 'dec_nw_ttl' }), () => ({ type: 'set_field', field: oxm() }), () => ({ type: 'push_pbb', ethertype: int(16) }),
    () => ({ type: 'pop_pbb' }), () => ({ type: 'experimenter', experimenter: 0x00a0_0000 + int(16), data: alignedBytes(8) }),
  ];
  return pick(gens)();
}
const actions = (): Action[] => some(5, () => action());

function instruction(): Instruction {
  const gens: (() => Instruction)[] = [
    () => ({ type: 'goto_table', tableId: int(8) }),
    () => ({ type: 'write_metadata', metadata: big(), metadataMask: big() }),
    () => ({ type: 'write_actions', actions: actions() }), () => ({ type: 'apply_actions', actions: actions() }),
    () => ({ type: 'clear_actions' }), () => ({ type: 'meter', meterId: int(32) }),
    () => ({ type: 'experimenter', experimenter: int(32), data: alignedBytes(8) }),
  ];
  return pick(gens)();
}

const bucket = (): Bucket => ({ weight: int(16), watchPort: int(32), watchGroup: int(32), actions: actions() });
const band = (): MeterBand => pick<() => MeterBand>([
  () => ({ type: 'drop', rate: int(32), burstSize: int(32) }),
  () => ({ type: 'dscp_remark', rate: int(32), burstSize: int(32), precLevel: int(8) }),
  () => ({ type: 'experimenter', rate: int(32), burstSize: int(32), experimenter: int(32), data: bytes(4 * int(2)) }),
])();
const port = (): OfpPort => ({
  portNo: int(32), hwAddr: macText(), name: text(15), config: int(32), state: int(32), curr: int(32), advertised: int(32),
  supported: int(32), peer: int(32), currSpeed: int(32), maxSpeed: int(32),
});
const queueProp = (): QueueProperty => pick<() => QueueProperty>([
  () => ({ type: 'min_rate', rate: int(16) }), () => ({ type: 'max_rate', rate: int(16) }),
  () => ({ type: 'experimenter', experimenter: int(32), data: bytes(int(4)) }),
])();
const tlvId = (): { type: number; data: Buffer } => (r() < 0.8 ? { type: int(5), data: Buffer.alloc(0) } : { type: 0xffff, data: bytes(4) });
function tableProp(): TableFeatureProperty {
  return pick<() => TableFeatureProperty>([
    () => ({ type: pick(['instructions', 'instructions_miss'] as const), instructionIds: some(3, tlvId) }),
    () => ({ type: pick(['next_tables', 'next_tables_miss'] as const), tableIds: some(5, () => int(8)) }),
    () => ({ type: pick(['write_actions', 'write_actions_miss', 'apply_actions', 'apply_actions_miss'] as const), actionIds: some(3, tlvId) }),
    () => ({ type: pick(['match', 'wildcards', 'write_setfield', 'write_setfield_miss', 'apply_setfield', 'apply_setfield_miss'] as const), oxmIds: some(4, () => int(32)) }),
    () => ({ type: pick(['experimenter', 'experimenter_miss'] as const), experimenter: int(32), expType: int(32), data: some(3, () => int(32)) }),
    () => ({ type: 'unknown', propType: 20 + int(8), data: bytes(int(5)) }),
  ])();
}
const tableFeatures = (): TableFeatures => ({
  tableId: int(8), name: text(31), metadataMatch: big(), metadataWrite: big(), config: int(32), maxEntries: int(32), properties: some(4, tableProp),
});

interface FlowFilter { tableId: number; outPort: number; outGroup: number; cookie: bigint; cookieMask: bigint; match: Oxm[] }
const flowFilter = (): FlowFilter =>
  ({ tableId: int(8), outPort: int(32), outGroup: int(32), cookie: big(), cookieMask: big(), match: match() });
const REQUESTS: (() => MultipartRequestBody)[] = [
  () => ({ mpType: 'desc' }), () => ({ mpType: 'flow', ...flowFilter() }), () => ({ mpType: 'aggregate', ...flowFilter() }),
  () => ({ mpType: 'table' }), () => ({ mpType: 'port_stats', portNo: int(32) }), () => ({ mpType: 'queue', portNo: int(32), queueId: int(32) }),
  () => ({ mpType: 'group', groupId: int(32) }), () => ({ mpType: 'group_desc' }), () => ({ mpType: 'group_features' }),
  () => ({ mpType: 'meter', meterId: int(32) }), () => ({ mpType: 'meter_config', meterId: int(32) }), () => ({ mpType: 'meter_features' }),
  () => ({ mpType: 'table_features', entries: some(2, tableFeatures) }), () => ({ mpType: 'port_desc' }),
  () => ({ mpType: 'experimenter', experimenter: int(32), expType: int(32), data: bytes(int(6)) }),
];
const REPLIES: (() => MultipartReplyBody)[] = [
  () => ({ mpType: 'desc', mfrDesc: text(50), hwDesc: text(50), swDesc: text(50), serialNum: text(31), dpDesc: text(50) }),
  () => ({ mpType: 'flow', entries: some(2, () => ({ tableId: int(8), durationSec: int(32), durationNsec: int(32), priority: int(16), idleTimeout: int(16), hardTimeout: int(16), flags: int(16), cookie: big(), packetCount: big(), byteCount: big(), match: match(), instructions: some(3, instruction) })) }),
  () => ({ mpType: 'aggregate', packetCount: big(), byteCount: big(), flowCount: int(32) }),
  () => ({ mpType: 'table', entries: some(3, () => ({ tableId: int(8), activeCount: int(32), lookupCount: big(), matchedCount: big() })) }),
  () => ({ mpType: 'port_stats', entries: some(2, () => ({ portNo: int(32), rxPackets: big(), txPackets: big(), rxBytes: big(), txBytes: big(), rxDropped: big(), txDropped: big(), rxErrors: big(), txErrors: big(), rxFrameErr: big(), rxOverErr: big(), rxCrcErr: big(), collisions: big(), durationSec: int(32), durationNsec: int(32) })) }),
  () => ({ mpType: 'queue', entries: some(2, () => ({ portNo: int(32), queueId: int(32), txBytes: big(), txPackets: big(), txErrors: big(), durationSec: int(32), durationNsec: int(32) })) }),
  () => ({ mpType: 'group', entries: some(2, () => ({ groupId: int(32), refCount: int(32), packetCount: big(), byteCount: big(), durationSec: int(32), durationNsec: int(32), bucketStats: some(3, () => ({ packetCount: big(), byteCount: big() })) })) }),
  () => ({ mpType: 'group_desc', entries: some(2, () => ({ groupType: int(8), groupId: int(32), buckets: some(2, bucket) })) }),
  () => ({ mpType: 'group_features', types: int(32), capabilities: int(32), maxGroups: [int(32), int(32), int(32), int(32)], actions: [int(32), int(32), int(32), int(32)] }),
  () => ({ mpType: 'meter', entries: some(2, () => ({ meterId: int(32), flowCount: int(32), packetInCount: big(), byteInCount: big(), durationSec: int(32), durationNsec: int(32), bandStats: some(2, () => ({ packetBandCount: big(), byteBandCount: big() })) })) }),
  () => ({ mpType: 'meter_config', entries: some(2, () => ({ flags: int(16), meterId: int(32), bands: some(2, band) })) }),
  () => ({ mpType: 'meter_features', entries: some(2, () => ({ maxMeter: int(32), bandTypes: int(32), capabilities: int(32), maxBands: int(8), maxColor: int(8) })) }),
  () => ({ mpType: 'table_features', entries: some(2, tableFeatures) }), () => ({ mpType: 'port_desc', entries: some(2, port) }),
  () => ({ mpType: 'experimenter', experimenter: int(32), expType: int(32), data: bytes(int(6)) }),
];

const xid = (): number => int(32);
const masks = (): number[] => [int(32), int(32)];
const MESSAGES: Record<OfpMessage['type'], () => OfpMessage> = {
  hello: () => ({ type: 'hello', xid: xid(), elements: some(2, () => (r() < 0.6
    ? { type: 'versionbitmap' as const, versions: [...new Set(some(4, () => int(6)))].sort((a, b) => a - b) }
    : { type: 'unknown' as const, elemType: 2 + int(8), data: bytes(int(6)) })) }),
  error: () => (r() < 0.5 ? { type: 'error', xid: xid(), errType: int(8), code: int(16), data: bytes(int(5)) }
    : { type: 'error', xid: xid(), errType: 0xffff, expType: int(16), experimenter: int(32), data: bytes(int(5)) }),
  echo_request: () => ({ type: 'echo_request', xid: xid(), data: bytes(int(5)) }),
  echo_reply: () => ({ type: 'echo_reply', xid: xid(), data: bytes(int(5)) }),
  experimenter: () => ({ type: 'experimenter', xid: xid(), experimenter: int(32), expType: int(32), data: bytes(int(5)) }),
  features_request: () => ({ type: 'features_request', xid: xid() }),
  features_reply: () => ({ type: 'features_reply', xid: xid(), datapathId: big(), nBuffers: int(32), nTables: int(8), auxiliaryId: int(8), capabilities: int(32), reserved: int(32) }),
  get_config_request: () => ({ type: 'get_config_request', xid: xid() }),
  get_config_reply: () => ({ type: 'get_config_reply', xid: xid(), flags: int(16), missSendLen: int(16) }),
  set_config: () => ({ type: 'set_config', xid: xid(), flags: int(16), missSendLen: int(16) }),
  packet_in: () => ({ type: 'packet_in', xid: xid(), bufferId: int(32), totalLen: int(16), reason: int(8), tableId: int(8), cookie: big(), match: match(), data: bytes(int(6)) }),
  flow_removed: () => ({ type: 'flow_removed', xid: xid(), cookie: big(), priority: int(16), reason: int(8), tableId: int(8), durationSec: int(32), durationNsec: int(32), idleTimeout: int(16), hardTimeout: int(16), packetCount: big(), byteCount: big(), match: match() }),
  port_status: () => ({ type: 'port_status', xid: xid(), reason: int(8), desc: port() }),
  packet_out: () => ({ type: 'packet_out', xid: xid(), bufferId: int(32), inPort: int(32), actions: actions(), data: bytes(int(6)) }),
  flow_mod: () => ({ type: 'flow_mod', xid: xid(), cookie: big(), cookieMask: big(), tableId: int(8), command: int(8), idleTimeout: int(16), hardTimeout: int(16), priority: int(16), bufferId: int(32), outPort: int(32), outGroup: int(32), flags: int(16), match: match(), instructions: some(4, instruction) }),
  group_mod: () => ({ type: 'group_mod', xid: xid(), command: int(16), groupType: int(8), groupId: int(32), buckets: some(3, bucket) }),
  port_mod: () => ({ type: 'port_mod', xid: xid(), portNo: int(32), hwAddr: macText(), config: int(32), mask: int(32), advertise: int(32) }),
  table_mod: () => ({ type: 'table_mod', xid: xid(), tableId: int(8), config: int(32) }),
  multipart_request: () => ({ type: 'multipart_request', xid: xid(), flags: int(16), body: pick(REQUESTS)() }),
  multipart_reply: () => ({ type: 'multipart_reply', xid: xid(), flags: int(16), body: pick(REPLIES)() }),
  barrier_request: () => ({ type: 'barrier_request', xid: xid() }),
  barrier_reply: () => ({ type: 'barrier_reply', xid: xid() }),
  queue_get_config_request: () => ({ type: 'queue_get_config_request', xid: xid(), port: int(32) }),
  queue_get_config_reply: () => ({ type: 'queue_get_config_reply', xid: xid(), port: int(32), queues: some(2, () => ({ queueId: int(32), port: int(32), properties: some(3, queueProp) })) }),
  role_request: () => ({ type: 'role_request', xid: xid(), role: int(32), generationId: big() }),
  role_reply: () => ({ type: 'role_reply', xid: xid(), role: int(32), generationId: big() }),
  get_async_request: () => ({ type: 'get_async_request', xid: xid() }),
  get_async_reply: () => ({ type: 'get_async_reply', xid: xid(), packetInMask: masks(), portStatusMask: masks(), flowRemovedMask: masks() }),
  set_async: () => ({ type: 'set_async', xid: xid(), packetInMask: masks(), portStatusMask: masks(), flowRemovedMask: masks() }),
  onf_role_status: () => ({ type: 'onf_role_status', xid: xid(), role: int(32), reason: int(8), generationId: big() }),
  meter_mod: () => ({ type: 'meter_mod', xid: xid(), command: int(16), flags: int(16), meterId: int(32), bands: some(3, band) }),
};

describe(`round trip of ${COUNT} random valid messages (seed ${SEED})`, () => {
  it('generates every registered message type', () => {
    expect(Object.keys(MESSAGES).sort()).toEqual([...messagesByName.keys()].sort());
  });

  it('decode(encode(m)) deep-equals m and encode(decode(b)) is b', () => {
    r = mulberry32(SEED);
    const types = Object.keys(MESSAGES) as OfpMessage['type'][];
    const seenActions = new Set<string>();
    for (let i = 0; i < COUNT; i++) {
      const msg = MESSAGES[types[i % types.length]]();
      const wire = encode(msg);
      const back = decode(wire);
      // isDeepStrictEqual is far cheaper than expect().toEqual() in a loop; the failure message names the case.
      if (!isDeepStrictEqual(back, msg)) expect({ i, back }).toEqual({ i, back: msg });
      const again = encode(back);
      if (!again.equals(wire)) expect({ i, hex: again.toString('hex') }).toEqual({ i, hex: wire.toString('hex') });
      JSON.stringify(msg, (k, v) => { if (k === 'type' && typeof v === 'string') seenActions.add(v); return typeof v === 'bigint' ? 0 : v; });
    }
    // Every action kind the generator knows was produced at least once.
    for (const t of ['nx_learn', 'nx_controller2', 'nx_nat', 'nx_ct', 'nx_unknown', 'experimenter', 'set_field', 'pop_pbb']) {
      expect(seenActions).toContain(t);
    }
  });
});
