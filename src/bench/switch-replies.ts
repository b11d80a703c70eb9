// The switch side of everything a controller may ask an emulated switch, as a pure function: the
// handshake (features, port_desc), echo, barrier, config, role, async, and empty or zero statistics
// (an emulated switch has no flows or traffic of its own to report).
import { OFPET, OFPPS_LIVE } from '../openflow';
import type { MultipartReplyBody, MultipartRequestBody, OfpMessage, OfpPort, PortStats } from '../openflow';

/** OFPBRC_BAD_MULTIPART: a multipart type the emulated switch does not implement. */
const BAD_MULTIPART = 2;
/** OFPBRC_BAD_TYPE: a message a switch does not accept. */
const BAD_TYPE = 1;
/** Flow, table, port, group and queue stats (OFPC_* bits). */
const CAPABILITIES = 0x1 | 0x2 | 0x4 | 0x8 | 0x40;
const ERROR_QUOTE_LEN = 64;
/** 10 Gb/s full duplex, copper. */
const PORT_FEATURES = (1 << 6) | (1 << 11);

export interface EmulatedSwitchState {
  dpid: bigint;
  ports: readonly OfpPort[];
  missSendLen: number;
  configFlags: number;
}

/** Port table of an emulated switch: port numbers from 1, in the order of `names`. */
export function buildPorts(switchIndex: number, names: readonly string[]): OfpPort[] {
  return names.map((name, i) => ({
    portNo: i + 1,
    hwAddr: ['02', '50', hex(switchIndex >> 8), hex(switchIndex), '00', hex(i + 1)].join(':'),
    name, config: 0, state: OFPPS_LIVE, curr: PORT_FEATURES, advertised: PORT_FEATURES, supported: PORT_FEATURES,
    peer: 0, currSpeed: 10_000_000, maxSpeed: 10_000_000,
  }));
}

function hex(byte: number): string {
  return (byte & 0xff).toString(16).padStart(2, '0');
}

export type SwitchAction =
  | { kind: 'reply'; messages: OfpMessage[] }
  /** Nothing to answer (hello, set_config applied, async/role state kept, a message that has no reply). */
  | { kind: 'none' };

/**
 * What the emulated switch sends back for one decoded controller message (flow_mod and packet_out go
 * through the generator's hot path and never reach here). set_config updates `state`.
 * `raw` is the message's wire bytes, quoted in error replies.
 */
export function answerControllerMessage(msg: OfpMessage, state: EmulatedSwitchState, raw: Buffer): SwitchAction {
  const reply = (...messages: OfpMessage[]): SwitchAction => ({ kind: 'reply', messages });
  switch (msg.type) {
    case 'features_request':
      return reply({
        type: 'features_reply', xid: msg.xid, datapathId: state.dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0,
        capabilities: CAPABILITIES, reserved: 0,
      });
    case 'set_config':
      state.missSendLen = msg.missSendLen;
      state.configFlags = msg.flags;
      return { kind: 'none' };
    case 'get_config_request':
      return reply({ type: 'get_config_reply', xid: msg.xid, flags: state.configFlags, missSendLen: state.missSendLen });
    case 'echo_request':
      return reply({ type: 'echo_reply', xid: msg.xid, data: msg.data });
    case 'barrier_request':
      return reply({ type: 'barrier_reply', xid: msg.xid });
    case 'role_request':
      return reply({ type: 'role_reply', xid: msg.xid, role: msg.role, generationId: msg.generationId });
    case 'get_async_request':
      return reply({
        type: 'get_async_reply', xid: msg.xid, packetInMask: [0x7, 0], portStatusMask: [0x7, 0x7], flowRemovedMask: [0xf, 0],
      });
    case 'queue_get_config_request':
      return reply({ type: 'queue_get_config_reply', xid: msg.xid, port: msg.port, queues: [] });
    case 'multipart_request': {
      const body = multipartReply(msg.body, state);
      if (!body) return reply(errorReply(msg.xid, BAD_MULTIPART, raw));
      return reply({ type: 'multipart_reply', xid: msg.xid, flags: 0, body });
    }
    case 'hello': case 'echo_reply': case 'error': case 'set_async': case 'group_mod': case 'meter_mod':
    case 'port_mod': case 'table_mod': case 'flow_mod': case 'packet_out': case 'experimenter':
      return { kind: 'none' };
    default:
      // Replies and asynchronous messages only a switch sends.
      return reply(errorReply(msg.xid, BAD_TYPE, raw));
  }
}

function errorReply(xid: number, code: number, raw: Buffer): OfpMessage {
  return { type: 'error', xid, errType: OFPET.BAD_REQUEST, code, data: Buffer.from(raw.subarray(0, ERROR_QUOTE_LEN)) };
}

function zeroPortStats(portNo: number): PortStats {
  return {
    portNo, rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n, rxDropped: 0n, txDropped: 0n, rxErrors: 0n,
    txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 0, durationNsec: 0,
  };
}

const OFPP_ANY = 0xffffffff;

function multipartReply(req: MultipartRequestBody, state: EmulatedSwitchState): MultipartReplyBody | undefined {
  switch (req.mpType) {
    case 'port_desc':
      return { mpType: 'port_desc', entries: [...state.ports] };
    case 'desc':
      return {
        mpType: 'desc', mfrDesc: 'vadc', hwDesc: 'vadc bench flowsetup emulated switch', swDesc: 'vadc bench',
        serialNum: state.dpid.toString(), dpDesc: `emulated switch ${state.dpid}`,
      };
    case 'flow': case 'table': case 'queue': case 'group': case 'group_desc': case 'meter': case 'meter_config':
    case 'table_features':
      return { mpType: req.mpType, entries: [] };
    case 'aggregate':
      return { mpType: 'aggregate', packetCount: 0n, byteCount: 0n, flowCount: 0 };
    case 'port_stats': {
      const ports = state.ports.filter((p) => req.portNo === OFPP_ANY || p.portNo === req.portNo);
      return { mpType: 'port_stats', entries: ports.map((p) => zeroPortStats(p.portNo)) };
    }
    case 'group_features':
      return { mpType: 'group_features', types: 0, capabilities: 0, maxGroups: [0, 0, 0, 0], actions: [0, 0, 0, 0] };
    case 'meter_features':
      return { mpType: 'meter_features', entries: [{ maxMeter: 0, bandTypes: 0, capabilities: 0, maxBands: 0, maxColor: 0 }] };
    default:
      return undefined;
  }
}
