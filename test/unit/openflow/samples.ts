// Hand-built messages for the oracle tests: every message type and every multipart body, each field set to
// a distinct, non-default value (so a field written into the wrong slot shows up), and payloads that are
// real frames/messages so a dissector can follow them.
import { buildServiceGroup } from '../../../src/flows/groups';
import { encode } from '../../../src/openflow';
import type { Action, FlowStats, Instruction, MultipartReplyBody, MultipartRequestBody, OfpMessage, OfpPort, Oxm, TableFeatures } from '../../../src/openflow';

/** An ARP request in an Ethernet frame: a payload any packet dissector accepts as complete. */
export const ARP_FRAME = Buffer.from(
  'ffffffffffff' + '020000000a01' + '0806' + '0001' + '0800' + '06' + '04' + '0001'
  + '020000000a01' + '0a000001' + '000000000000' + '0a000002', 'hex');

const match: Oxm[] = [
  { field: 'in_port', value: 7 }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 },
  { field: 'ipv4_src', value: '10.1.2.3' }, { field: 'ipv4_dst', value: '192.168.7.0', mask: '255.255.255.0' },
  { field: 'tcp_dst', value: 8443 }, { field: 'eth_src', value: '02:11:22:33:44:55', mask: 'ff:ff:ff:00:00:00' },
];

const actions: Action[] = [
  { type: 'set_field', field: { field: 'ipv4_dst', value: '10.9.8.7' } },
  { type: 'set_field', field: { field: 'eth_dst', value: '02:aa:bb:cc:dd:ee' } },
  { type: 'push_vlan', ethertype: 0x8100 }, { type: 'set_queue', queueId: 3 }, { type: 'group', groupId: 12 },
  { type: 'set_nw_ttl', nwTtl: 33 }, { type: 'dec_nw_ttl' }, { type: 'copy_ttl_in' }, { type: 'copy_ttl_out' },
  { type: 'output', port: 5, maxLen: 0xffe5 },
];

const nxActions: Action[] = [
  { type: 'nx_fin_timeout', finIdleTimeout: 11, finHardTimeout: 22 },
  { type: 'nx_resubmit_table', inPort: 0xfff8, tableId: 4 },
  { type: 'nx_reg_load', ofsNbits: 31, dst: 'reg2', value: 0xbeefn },
  { type: 'nx_ct', flags: 1, zoneSrc: 0, zoneOfsNbits: 9, recircTable: 6, alg: 0, actions: [
    { type: 'nx_nat', flags: 1, rangeIpv4Min: '10.0.0.5', rangeIpv4Max: '10.0.0.9' },
  ] },
];

const instructions: Instruction[] = [
  { type: 'meter', meterId: 9 }, { type: 'apply_actions', actions },
  { type: 'write_actions', actions: [{ type: 'output', port: 3, maxLen: 128 }] }, { type: 'clear_actions' },
  { type: 'write_metadata', metadata: 0x1122334455667788n, metadataMask: 0xffff0000ffff0000n },
  { type: 'goto_table', tableId: 5 },
];

const port: OfpPort = {
  portNo: 3, hwAddr: '02:00:00:00:03:03', name: 'vnet3', config: 1, state: 4, curr: 0x840, advertised: 0x20,
  supported: 0x28, peer: 0x10, currSpeed: 10000000, maxSpeed: 25000000,
};

const flowStats: FlowStats = {
  tableId: 2, durationSec: 31, durationNsec: 32, priority: 33, idleTimeout: 34, hardTimeout: 35, flags: 1,
  cookie: 0xc0c0n, packetCount: 37n, byteCount: 38n, match, instructions: [{ type: 'goto_table', tableId: 7 }],
};

const tableFeatures: TableFeatures = {
  tableId: 1, name: 'lb-services', metadataMatch: 0xffn, metadataWrite: 0xf0n, config: 3, maxEntries: 4096,
  properties: [
    { type: 'instructions', instructionIds: [{ type: 1, data: Buffer.alloc(0) }, { type: 4, data: Buffer.alloc(0) }] },
    { type: 'next_tables', tableIds: [2, 3] },
    { type: 'apply_actions', actionIds: [{ type: 0, data: Buffer.alloc(0) }, { type: 25, data: Buffer.alloc(0) }] },
    { type: 'match', oxmIds: [0x80000004, 0x80000a02] },
  ],
};

const requestBodies: MultipartRequestBody[] = [
  { mpType: 'desc' },
  { mpType: 'flow', tableId: 1, outPort: 2, outGroup: 3, cookie: 4n, cookieMask: 5n, match },
  { mpType: 'aggregate', tableId: 6, outPort: 7, outGroup: 8, cookie: 9n, cookieMask: 10n, match: [{ field: 'in_port', value: 2 }] },
  { mpType: 'table' },
  { mpType: 'port_stats', portNo: 4 },
  { mpType: 'queue', portNo: 5, queueId: 6 },
  { mpType: 'group', groupId: 7 },
  { mpType: 'group_desc' },
  { mpType: 'group_features' },
  { mpType: 'meter', meterId: 8 },
  { mpType: 'meter_config', meterId: 9 },
  { mpType: 'meter_features' },
  { mpType: 'table_features', entries: [tableFeatures] },
  { mpType: 'port_desc' },
  { mpType: 'experimenter', experimenter: 0x2320, expType: 3, data: Buffer.alloc(0) },
];

const replyBodies: MultipartReplyBody[] = [
  { mpType: 'desc', mfrDesc: 'vadc maker', hwDesc: 'virtual', swDesc: 'vadc 0.1', serialNum: 'SN-42', dpDesc: 'br-lb' },
  { mpType: 'flow', entries: [flowStats] },
  { mpType: 'aggregate', packetCount: 51n, byteCount: 52n, flowCount: 53 },
  { mpType: 'table', entries: [{ tableId: 4, activeCount: 54, lookupCount: 55n, matchedCount: 56n }] },
  { mpType: 'port_stats', entries: [{
    portNo: 6, rxPackets: 61n, txPackets: 62n, rxBytes: 63n, txBytes: 64n, rxDropped: 65n, txDropped: 66n,
    rxErrors: 67n, txErrors: 68n, rxFrameErr: 69n, rxOverErr: 70n, rxCrcErr: 71n, collisions: 72n, durationSec: 73,
    durationNsec: 74,
  }] },
  { mpType: 'queue', entries: [{ portNo: 8, queueId: 81, txBytes: 82n, txPackets: 83n, txErrors: 84n, durationSec: 85, durationNsec: 86 }] },
  { mpType: 'group', entries: [{
    groupId: 9, refCount: 91, packetCount: 92n, byteCount: 93n, durationSec: 94, durationNsec: 95,
    bucketStats: [{ packetCount: 96n, byteCount: 97n }],
  }] },
  { mpType: 'group_desc', entries: [{ groupType: 1, groupId: 10, buckets: [
    { weight: 5, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 2, maxLen: 0 }] },
  ] }] },
  { mpType: 'group_features', types: 15, capabilities: 7, maxGroups: [1, 2, 3, 4], actions: [5, 6, 7, 8] },
  { mpType: 'meter', entries: [{
    meterId: 11, flowCount: 111, packetInCount: 112n, byteInCount: 113n, durationSec: 114, durationNsec: 115,
    bandStats: [{ packetBandCount: 116n, byteBandCount: 117n }],
  }] },
  { mpType: 'meter_config', entries: [{ flags: 5, meterId: 12, bands: [{ type: 'drop', rate: 121, burstSize: 122 }] }] },
  { mpType: 'meter_features', entries: [{ maxMeter: 13, bandTypes: 6, capabilities: 15, maxBands: 4, maxColor: 2 }] },
  { mpType: 'table_features', entries: [tableFeatures] },
  { mpType: 'port_desc', entries: [port] },
  { mpType: 'experimenter', experimenter: 0x2320, expType: 4, data: Buffer.alloc(0) },
];

const echo = encode({ type: 'echo_request', xid: 0x99, data: Buffer.from('ping') });

/** One message of each of the 30 types and of each typed experimenter message, then one multipart request and reply per multipart type. */
export const SAMPLE_MESSAGES: OfpMessage[] = [
  { type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', versions: [1, 4] }] },
  // The error data is the start of the offending request, as a switch sends it.
  { type: 'error', xid: 2, errType: 1, code: 3, data: echo },
  { type: 'echo_request', xid: 3, data: Buffer.from('are you there') },
  { type: 'echo_reply', xid: 4, data: Buffer.from('here') },
  { type: 'experimenter', xid: 5, experimenter: 0x2320, expType: 11, data: Buffer.from([1, 2, 3, 4]) },
  { type: 'features_request', xid: 6 },
  { type: 'features_reply', xid: 7, datapathId: 0x0000020000000a01n, nBuffers: 256, nTables: 254, auxiliaryId: 1, capabilities: 0x4f, reserved: 0 },
  { type: 'get_config_request', xid: 8 },
  { type: 'get_config_reply', xid: 9, flags: 1, missSendLen: 1500 },
  { type: 'set_config', xid: 10, flags: 2, missSendLen: 128 },
  { type: 'packet_in', xid: 11, bufferId: 0xffffffff, totalLen: ARP_FRAME.length, reason: 1, tableId: 3, cookie: 0x77n, match: [{ field: 'in_port', value: 4 }], data: ARP_FRAME },
  { type: 'flow_removed', xid: 12, cookie: 0x1234n, priority: 100, reason: 2, tableId: 4, durationSec: 5, durationNsec: 6, idleTimeout: 7, hardTimeout: 8, packetCount: 9n, byteCount: 10n, match },
  { type: 'port_status', xid: 13, reason: 2, desc: port },
  { type: 'packet_out', xid: 14, bufferId: 0xffffffff, inPort: 0xfffffffd, actions: [{ type: 'output', port: 2, maxLen: 0 }], data: ARP_FRAME },
  { type: 'flow_mod', xid: 15, cookie: 0xabcdn, cookieMask: 0xffffn, tableId: 1, command: 0, idleTimeout: 60, hardTimeout: 600, priority: 1000, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 1, match, instructions },
  { type: 'flow_mod', xid: 115, cookie: 0xabcen, cookieMask: 0n, tableId: 2, command: 0, idleTimeout: 10, hardTimeout: 0, priority: 2000, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [{ field: 'in_port', value: 9 }], instructions: [{ type: 'apply_actions', actions: nxActions }] },
  { type: 'group_mod', xid: 16, command: 0, groupType: 1, groupId: 17, buckets: [
    { weight: 3, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 6, maxLen: 0 }] },
    { weight: 7, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 8, maxLen: 0 }] },
  ] },
  { type: 'port_mod', xid: 17, portNo: 5, hwAddr: '02:00:00:00:05:05', config: 1, mask: 1, advertise: 0x20 },
  { type: 'table_mod', xid: 18, tableId: 3, config: 3 },
  ...requestBodies.map((body, i): OfpMessage => ({ type: 'multipart_request', xid: 100 + i, flags: 0, body })),
  ...replyBodies.map((body, i): OfpMessage => ({ type: 'multipart_reply', xid: 200 + i, flags: i === 1 ? 1 : 0, body })),
  { type: 'barrier_request', xid: 20 },
  { type: 'barrier_reply', xid: 21 },
  { type: 'queue_get_config_request', xid: 22, port: 6 },
  { type: 'queue_get_config_reply', xid: 23, port: 6, queues: [{ queueId: 1, port: 6, properties: [{ type: 'min_rate', rate: 100 }, { type: 'max_rate', rate: 900 }] }] },
  { type: 'role_request', xid: 24, role: 2, generationId: 0x55n },
  { type: 'role_reply', xid: 25, role: 3, generationId: 0x56n },
  { type: 'get_async_request', xid: 26 },
  { type: 'get_async_reply', xid: 27, packetInMask: [1, 2], portStatusMask: [3, 4], flowRemovedMask: [5, 6] },
  { type: 'set_async', xid: 28, packetInMask: [6, 5], portStatusMask: [4, 3], flowRemovedMask: [2, 1] },
  { type: 'onf_role_status', xid: 0, role: 3, reason: 0, generationId: 0x1122334455667789n },
  { type: 'meter_mod', xid: 29, command: 0, flags: 5, meterId: 30, bands: [{ type: 'drop', rate: 1000, burstSize: 100 }, { type: 'dscp_remark', rate: 2000, burstSize: 200, precLevel: 1 }] },
  // A service's select group for datapath decisions (src/flows/groups.ts): buckets of ct(commit, exec(move, load), nat).
  { ...buildServiceGroup({ serviceId: 0x1234, zone: 2780, buckets: [{ ip: '10.0.0.11', port: 8080, weight: 30 }, { ip: '10.0.0.12', port: 8081, weight: 7 }] }, false), xid: 31 },
];
