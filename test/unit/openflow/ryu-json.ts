// Test-only adapter from the codec's objects to Ryu's JSON naming (FORMAT.md of the golden vectors).
// Lengths are not produced: the codec derives them, and the byte-identical re-encode checks them.
import { actionCodec, instructionCodec, meterBandCodec, tableFeaturePropCodec } from '../../../src/openflow/structures';
import { oxmFieldByHeader } from '../../../src/openflow/oxm';
import type { Action, Instruction, MeterBand, OfpMessage, Oxm, TableFeatureProperty } from '../../../src/openflow';

type Json = unknown;
const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** bigint -> number when safe (the expected JSON keeps only the big ones as bigint); Buffer -> base64. */
function plain(v: unknown): Json {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) out[snake(k)] = plain(x);
    return out;
  }
  return v;
}
const wrap = (cls: string, body: Json): Json => ({ [cls]: body });
function fields(obj: object, drop: string[] = []): Record<string, Json> {
  const out = plain(obj) as Record<string, Json>;
  for (const k of ['type', ...drop]) delete out[k];
  return out;
}

export function oxmJson(o: Oxm): Json {
  if (o.field === 'raw') return wrap('OXMRaw', { bytes: o.bytes.toString('base64') });
  return wrap('OXMTlv', { field: o.field, value: plain(o.value), mask: o.mask === undefined ? null : plain(o.mask) });
}
const matchJson = (m: Oxm[]): Json => wrap('OFPMatch', { type: 1, oxm_fields: m.map(oxmJson) });

const ACTION_CLASS: Record<string, string> = {
  output: 'OFPActionOutput', copy_ttl_out: 'OFPActionCopyTtlOut', copy_ttl_in: 'OFPActionCopyTtlIn',
  set_mpls_ttl: 'OFPActionSetMplsTtl', dec_mpls_ttl: 'OFPActionDecMplsTtl', push_vlan: 'OFPActionPushVlan',
  pop_vlan: 'OFPActionPopVlan', push_mpls: 'OFPActionPushMpls', pop_mpls: 'OFPActionPopMpls',
  set_queue: 'OFPActionSetQueue', group: 'OFPActionGroup', set_nw_ttl: 'OFPActionSetNwTtl',
  dec_nw_ttl: 'OFPActionDecNwTtl', set_field: 'OFPActionSetField', push_pbb: 'OFPActionPushPbb',
  pop_pbb: 'OFPActionPopPbb', experimenter: 'OFPActionExperimenterUnknown', nx_unknown: 'NXActionUnknown',
};
const NX_CLASS: Record<string, string> = {
  nx_reg_move: 'NXActionRegMove', nx_reg_load: 'NXActionRegLoad', nx_note: 'NXActionNote',
  nx_resubmit_table: 'NXActionResubmitTable', nx_output_reg: 'NXActionOutputReg', nx_learn: 'NXActionLearn',
  nx_fin_timeout: 'NXActionFinTimeout', nx_controller: 'NXActionController', nx_dec_ttl_cnt_ids: 'NXActionDecTtlCntIds',
  nx_stack_push: 'NXActionStackPush', nx_stack_pop: 'NXActionStackPop', nx_sample: 'NXActionSample',
  nx_conjunction: 'NXActionConjunction', nx_ct: 'NXActionCT', nx_nat: 'NXActionNAT', nx_controller2: 'NXActionController2',
  nx_sample2: 'NXActionSample2', nx_output_trunc: 'NXActionOutputTrunc', nx_ct_clear: 'NXActionCTClear',
};
/** Ryu shows an absent field reference (header 0) as "". */
const fieldRef = (f: unknown): Json => (f === 0 ? '' : f);
const NX_FIELD_KEYS = new Set(['srcField', 'dstField', 'dst', 'src', 'field', 'zoneSrc']);

function nxBody(a: Action): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(a)) {
    if (k !== 'type') out[snake(k)] = NX_FIELD_KEYS.has(k) ? fieldRef(v) : plain(v);
  }
  switch (a.type) {
    case 'nx_note': out.note = [...a.note]; break;
    case 'nx_ct': out.actions = a.actions.map(actionJson); break;
    case 'nx_nat':
      for (const k of ['range_ipv4_min', 'range_ipv4_max', 'range_ipv6_min', 'range_ipv6_max']) out[k] ??= '';
      for (const k of ['range_proto_min', 'range_proto_max']) out[k] ??= null;
      break;
    case 'nx_controller2':
      out.userdata = a.userdata ? [...a.userdata] : [];
      out.pause = a.pause === true;
      break;
    case 'nx_learn':
      out.specs = a.specs.map((s) => {
        const ref = (x: { field: unknown; ofs: number }): Json => [fieldRef(x.field), x.ofs];
        const src = Buffer.isBuffer(s.src) ? plain(s.src.length ? BigInt(`0x${s.src.toString('hex')}`) : 0n) : ref(s.src);
        const cls = s.type === 'match' ? 'NXFlowSpecMatch' : s.type === 'load' ? 'NXFlowSpecLoad' : 'NXFlowSpecOutput';
        return wrap(cls, { n_bits: s.nBits, src, dst: s.type === 'output' ? '' : ref(s.dst) });
      });
      break;
  }
  return out;
}

export function actionJson(a: Action): Json {
  if (NX_CLASS[a.type]) return wrap(NX_CLASS[a.type], { type: 0xffff, experimenter: 0x2320, subtype: actionCodec.keyOf(a.type)! - 0x10000, ...nxBody(a) });
  const cls = ACTION_CLASS[a.type];
  if (!cls) throw new Error(`no Ryu class for action ${a.type}`);
  if (a.type === 'set_field') return wrap(cls, { type: 25, field: oxmJson(a.field) });
  if (a.type === 'nx_unknown') return wrap(cls, { type: 0xffff, experimenter: 0x2320, subtype: a.subtype, data: a.data.toString('base64') });
  return wrap(cls, { type: actionCodec.keyOf(a.type), ...fields(a) });
}

function instructionJson(i: Instruction): Json {
  const type = instructionCodec.keyOf(i.type);
  switch (i.type) {
    case 'goto_table': return wrap('OFPInstructionGotoTable', { type, table_id: i.tableId });
    case 'write_actions': case 'apply_actions': return wrap('OFPInstructionActions', { type, actions: i.actions.map(actionJson) });
    case 'clear_actions': return wrap('OFPInstructionActions', { type, actions: [] });
    case 'meter': return wrap('OFPInstructionMeter', { type, meter_id: i.meterId });
    case 'write_metadata': return wrap('OFPInstructionWriteMetadata', { type, ...fields(i) });
    default: return wrap('OFPInstructionExperimenter', { type, ...fields(i) });
  }
}

const BAND_CLASS: Record<string, string> = { drop: 'OFPMeterBandDrop', dscp_remark: 'OFPMeterBandDscpRemark', experimenter: 'OFPMeterBandExperimenter' };
const bandJson = (b: MeterBand): Json => wrap(BAND_CLASS[b.type], { type: meterBandCodec.keyOf(b.type), ...fields(b, b.type === 'experimenter' && b.data.length === 0 ? ['data'] : []) });
const bucketJson = (b: { weight: number; watchPort: number; watchGroup: number; actions: Action[] }): Json =>
  wrap('OFPBucket', { weight: b.weight, watch_port: b.watchPort, watch_group: b.watchGroup, actions: b.actions.map(actionJson) });

function tablePropJson(p: TableFeatureProperty): Json {
  const type = p.type === 'unknown' ? p.propType : tableFeaturePropCodec.keyOf(p.type);
  if ('instructionIds' in p) return wrap('OFPTableFeaturePropInstructions', { type, instruction_ids: p.instructionIds.map((x) => wrap('OFPInstructionId', { type: x.type })) });
  if ('actionIds' in p) return wrap('OFPTableFeaturePropActions', { type, action_ids: p.actionIds.map((x) => wrap('OFPActionId', { type: x.type })) });
  if ('tableIds' in p) return wrap('OFPTableFeaturePropNextTables', { type, table_ids: p.tableIds });
  if ('oxmIds' in p) {
    return wrap('OFPTableFeaturePropOxm', {
      type, oxm_ids: p.oxmIds.map((h) => wrap('OFPOxmId', { type: oxmFieldByHeader(h)?.name ?? h, hasmask: (h >>> 8) & 1, length: h & 0xff })),
    });
  }
  return wrap('OFPTableFeaturePropExperimenter', { type, ...fields(p) });
}
const tableFeaturesJson = (t: object & { properties: TableFeatureProperty[] }): Json =>
  wrap('OFPTableFeaturesStats', { ...fields(t, ['properties']), properties: t.properties.map(tablePropJson) });

const MP_CLASS: Record<string, string> = {
  desc: 'Desc', flow: 'Flow', aggregate: 'Aggregate', table: 'Table', port_stats: 'Port', queue: 'Queue', group: 'Group',
  group_desc: 'GroupDesc', group_features: 'GroupFeatures', meter: 'Meter', meter_config: 'MeterConfig',
  meter_features: 'MeterFeatures', table_features: 'TableFeatures', port_desc: 'PortDesc', experimenter: 'Experimenter',
};
const MP_CODE: Record<string, number> = {
  desc: 0, flow: 1, aggregate: 2, table: 3, port_stats: 4, queue: 5, group: 6, group_desc: 7, group_features: 8, meter: 9,
  meter_config: 10, meter_features: 11, table_features: 12, port_desc: 13, experimenter: 0xffff,
};

function replyEntry(mpType: string, e: Record<string, unknown>): Json {
  switch (mpType) {
    case 'flow': return wrap('OFPFlowStats', { ...fields(e, ['match', 'instructions']), match: matchJson(e.match as Oxm[]), instructions: (e.instructions as Instruction[]).map(instructionJson) });
    case 'table': return wrap('OFPTableStats', fields(e));
    case 'port_stats': return wrap('OFPPortStats', fields(e));
    case 'queue': return wrap('OFPQueueStats', fields(e));
    case 'group': return wrap('OFPGroupStats', { ...fields(e, ['bucketStats']), bucket_stats: (e.bucketStats as object[]).map((c) => wrap('OFPBucketCounter', fields(c))) });
    case 'group_desc': return wrap('OFPGroupDescStats', { type: e.groupType, group_id: e.groupId, buckets: (e.buckets as never[]).map(bucketJson) });
    case 'meter': return wrap('OFPMeterStats', { ...fields(e, ['bandStats']), band_stats: (e.bandStats as object[]).map((c) => wrap('OFPMeterBandStats', fields(c))) });
    case 'meter_config': return wrap('OFPMeterConfigStats', { ...fields(e, ['bands']), bands: (e.bands as MeterBand[]).map(bandJson) });
    case 'meter_features': return wrap('OFPMeterFeaturesStats', fields(e));
    case 'table_features': return tableFeaturesJson(e as never);
    case 'port_desc': return wrap('OFPPort', fields(e));
  }
  throw new Error(`no Ryu class for ${mpType} entry`);
}

export function toRyuJson(m: OfpMessage): Json {
  switch (m.type) {
    case 'hello': return wrap('OFPHello', { elements: m.elements.map((e) => (e.type === 'versionbitmap'
      ? wrap('OFPHelloElemVersionBitmap', { type: 1, versions: e.versions })
      : wrap('OFPHelloElemUnknown', { type: e.elemType, data: e.data.toString('base64') }))) });
    case 'error': return wrap('OFPErrorMsg', m.errType === 0xffff
      ? { type: m.errType, code: null, exp_type: m.expType, experimenter: m.experimenter, data: m.data.toString('base64') }
      : { type: m.errType, code: m.code, data: m.data.toString('base64') });
    case 'features_reply': return wrap('OFPSwitchFeatures', fields(m, ['xid', 'reserved']));
    case 'packet_in': return wrap('OFPPacketIn', { ...fields(m, ['xid', 'match']), match: matchJson(m.match) });
    case 'flow_removed': return wrap('OFPFlowRemoved', { ...fields(m, ['xid', 'match']), match: matchJson(m.match) });
    case 'port_status': return wrap('OFPPortStatus', { reason: m.reason, desc: wrap('OFPPort', fields(m.desc)) });
    case 'packet_out': return wrap('OFPPacketOut', { ...fields(m, ['xid', 'actions']), actions: m.actions.map(actionJson) });
    case 'flow_mod': return wrap('OFPFlowMod', { ...fields(m, ['xid', 'match', 'instructions']), match: matchJson(m.match), instructions: m.instructions.map(instructionJson) });
    case 'group_mod': return wrap('OFPGroupMod', { command: m.command, type: m.groupType, group_id: m.groupId, buckets: m.buckets.map(bucketJson) });
    case 'meter_mod': return wrap('OFPMeterMod', { ...fields(m, ['xid', 'bands']), bands: m.bands.map(bandJson) });
    case 'queue_get_config_reply': return wrap('OFPQueueGetConfigReply', {
      port: m.port,
      queues: m.queues.map((q) => wrap('OFPPacketQueue', {
        queue_id: q.queueId, port: q.port,
        properties: q.properties.map((p) => (p.type === 'experimenter'
          ? wrap('OFPQueuePropExperimenter', { property: 0xffff, experimenter: p.experimenter, data: [...p.data] })
          : wrap(p.type === 'min_rate' ? 'OFPQueuePropMinRate' : 'OFPQueuePropMaxRate', { property: p.type === 'min_rate' ? 1 : 2, rate: p.rate }))),
      })),
    });
    case 'multipart_request': case 'multipart_reply': {
      const b = m.body as Record<string, unknown> & { mpType: string };
      const cls = `OFP${MP_CLASS[b.mpType]}Stats${m.type === 'multipart_request' ? 'Request' : 'Reply'}`;
      const head = { type: MP_CODE[b.mpType], flags: m.flags };
      if (m.type === 'multipart_request') {
        if (b.mpType === 'table_features') return wrap(cls, { ...head, body: (b.entries as never[]).map(tableFeaturesJson) });
        const rest = fields(b, ['mpType', 'match']);
        delete rest.mp_type;
        return wrap(cls, { ...head, ...rest, ...(b.match ? { match: matchJson(b.match as Oxm[]) } : {}) });
      }
      const single: Record<string, string> = { desc: 'OFPDescStats', aggregate: 'OFPAggregateStats', group_features: 'OFPGroupFeaturesStats', experimenter: 'OFPExperimenterMultipart' };
      if (single[b.mpType]) {
        const rest = fields(b);
        delete rest.mp_type;
        return wrap(cls, { ...head, body: wrap(single[b.mpType], rest) });
      }
      return wrap(cls, { ...head, body: (b.entries as Record<string, unknown>[]).map((e) => replyEntry(b.mpType, e)) });
    }
    default: {
      const cls = `OFP${m.type.split('_').map((s) => s[0].toUpperCase() + s.slice(1)).join('')}`;
      return wrap(cls, fields(m, ['xid']));
    }
  }
}

/** Lossless parse: integers of 16+ digits become bigint (FORMAT.md: no floats or negatives in the files). */
export function parseJsonLossless(text: string): Json {
  const quoted = text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,\]}])/g, '$1"#big:$2"');
  return JSON.parse(quoted, (_k, v) => {
    if (typeof v === 'string' && v.startsWith('#big:')) {
      const n = BigInt(v.slice(5));
      return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    return v;
  });
}

const LENGTH_KEYS = new Set(['len', 'length', 'actions_len', 'match_len']);
/** Drops derived length keys (kept inside OFPOxmId, where length is data, not derived). */
export function withoutLengths(v: Json, parentClass = ''): Json {
  if (Array.isArray(v)) return v.map((x) => withoutLengths(x, parentClass));
  if (v && typeof v === 'object' && typeof v !== 'bigint') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      if (LENGTH_KEYS.has(k) && parentClass !== 'OFPOxmId') continue;
      out[k] = withoutLengths(x, /^[A-Z]/.test(k) ? k : parentClass);
    }
    return out;
  }
  return v;
}
