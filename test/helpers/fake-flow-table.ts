// A small OpenFlow 1.3 pipeline simulator for unit tests: applies flow-mods the way a switch does and
// runs a packet's header fields through the tables, reporting what happens to it. Not a full switch:
// only the matching, instructions and actions vadc uses are modelled (see the unit test for what holds).
import {
  OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPFC_MODIFY, OFPFC_MODIFY_STRICT, OFPFF_SEND_FLOW_REM, OFPP_ANY,
  OFPP_CONTROLLER, OFPP_IN_PORT, OFPP_NORMAL, OFPRR_DELETE, OFPRR_HARD_TIMEOUT, OFPRR_IDLE_TIMEOUT, OFPTT_ALL,
} from '../../src/openflow/constants';
import type { FlowMod, OxmFieldName, OxmValue } from '../../src/openflow/types';
import type { ParsedPacket } from '../../src/flows/packets';

/** A packet as the header fields a switch would match on (MACs and IPv4 addresses as text). */
export type PacketFields = Partial<Record<OxmFieldName, number | string>>;

export type Outcome =
  | { kind: 'output'; port: number; fields: PacketFields }
  | { kind: 'normal'; fields: PacketFields }
  | { kind: 'controller'; tableId: number; cookie: bigint; fields: PacketFields }
  | { kind: 'drop'; tableId: number };

export interface RemovedFlow {
  flow: FlowMod;
  reason: number;
  /** True when the switch would send flow_removed (the flow had OFPFF_SEND_FLOW_REM). */
  notify: boolean;
}

interface Entry {
  flow: FlowMod;
  lastUsed: number;
  installedAt: number;
  packets: number;
}

const ALL_ONES_64 = 0xffffffffffffffffn;

export class FakeFlowTableError extends Error {
  override readonly name = 'FakeFlowTableError';
}

export class FakeFlowTable {
  private entries: Entry[] = [];

  /** Applies one flow-mod at time `now` (seconds); returns the flows it removed. */
  apply(flow: FlowMod, now = 0): RemovedFlow[] {
    switch (flow.command) {
      case OFPFC_ADD: {
        const same = this.entries.findIndex((e) => e.flow.tableId === flow.tableId && isSameRule(e.flow, flow));
        const entry = { flow, lastUsed: now, installedAt: now, packets: 0 };
        if (same >= 0) this.entries[same] = entry;
        else this.entries.push(entry);
        return [];
      }
      case OFPFC_MODIFY:
      case OFPFC_MODIFY_STRICT:
        for (const entry of this.entries) {
          if (this.selects(flow, entry.flow, flow.command === OFPFC_MODIFY_STRICT)) {
            entry.flow = { ...entry.flow, instructions: flow.instructions };
          }
        }
        return [];
      case OFPFC_DELETE:
      case OFPFC_DELETE_STRICT: {
        const strict = flow.command === OFPFC_DELETE_STRICT;
        const removed = this.entries.filter((e) => this.selects(flow, e.flow, strict));
        this.entries = this.entries.filter((e) => !removed.includes(e));
        return removed.map((e) => removal(e.flow, OFPRR_DELETE));
      }
      default:
        throw new FakeFlowTableError(`unknown flow-mod command ${flow.command}`);
    }
  }

  applyAll(flows: FlowMod[], now = 0): RemovedFlow[] {
    return flows.flatMap((f) => this.apply(f, now));
  }

  /** Removes flows whose idle or hard timeout has passed at `now`, as the switch would. */
  expire(now: number): RemovedFlow[] {
    const removed: RemovedFlow[] = [];
    this.entries = this.entries.filter((e) => {
      const { idleTimeout, hardTimeout } = e.flow;
      if (idleTimeout > 0 && now - e.lastUsed >= idleTimeout) removed.push(removal(e.flow, OFPRR_IDLE_TIMEOUT));
      else if (hardTimeout > 0 && now - e.installedAt >= hardTimeout) removed.push(removal(e.flow, OFPRR_HARD_TIMEOUT));
      else return true;
      return false;
    });
    return removed;
  }

  flows(tableId?: number): FlowMod[] {
    return this.entries.filter((e) => tableId === undefined || e.flow.tableId === tableId).map((e) => e.flow);
  }

  packetCount(flow: FlowMod): number {
    return this.entries.find((e) => e.flow === flow)?.packets ?? 0;
  }

  /** Runs a packet arriving on `inPort` through the pipeline from table 0; returns every outcome in order. */
  process(packet: PacketFields, inPort: number, now = 0): Outcome[] {
    let fields: PacketFields = { ...packet, in_port: inPort };
    const outcomes: Outcome[] = [];
    let tableId: number | undefined = 0;
    const visited = new Set<number>();
    while (tableId !== undefined) {
      if (visited.has(tableId)) throw new FakeFlowTableError(`goto_table loop at table ${tableId}`);
      visited.add(tableId);
      const entry = this.lookup(tableId, fields);
      if (!entry) {
        outcomes.push({ kind: 'drop', tableId });
        return outcomes;
      }
      entry.lastUsed = now;
      entry.packets += 1;
      const currentTable: number = tableId;
      tableId = undefined;
      for (const instruction of entry.flow.instructions) {
        if (instruction.type === 'apply_actions') {
          for (const action of instruction.actions) {
            if (action.type === 'set_field') {
              if (action.field.field === 'raw') throw new FakeFlowTableError('raw set_field is not modelled');
              fields = { ...fields, [action.field.field]: valueOf(action.field.value) };
            } else if (action.type === 'output') {
              const snapshot = { ...fields };
              if (action.port === OFPP_NORMAL) outcomes.push({ kind: 'normal', fields: snapshot });
              else if (action.port === OFPP_CONTROLLER) outcomes.push({ kind: 'controller', tableId: currentTable, cookie: entry.flow.cookie, fields: snapshot });
              else outcomes.push({ kind: 'output', port: action.port === OFPP_IN_PORT ? inPort : action.port, fields: snapshot });
            } else if (action.type !== 'nx_fin_timeout') {
              throw new FakeFlowTableError(`action ${action.type} is not modelled`);
            }
          }
        } else if (instruction.type === 'goto_table') {
          if (instruction.tableId <= currentTable) throw new FakeFlowTableError(`goto_table ${instruction.tableId} from table ${currentTable} goes backwards`);
          tableId = instruction.tableId;
        } else {
          throw new FakeFlowTableError(`instruction ${instruction.type} is not modelled`);
        }
      }
    }
    return outcomes;
  }

  private lookup(tableId: number, fields: PacketFields): Entry | undefined {
    let best: Entry | undefined;
    for (const entry of this.entries) {
      if (entry.flow.tableId !== tableId || !matchesPacket(entry.flow, fields)) continue;
      if (!best || entry.flow.priority > best.flow.priority) best = entry;
    }
    return best;
  }

  /** Whether a modify/delete `request` selects `flow` (OpenFlow 1.3.5 section 6.4). */
  private selects(request: FlowMod, flow: FlowMod, strict: boolean): boolean {
    if (request.tableId !== OFPTT_ALL && request.tableId !== flow.tableId) return false;
    const mask = request.cookieMask & ALL_ONES_64;
    if ((flow.cookie & mask) !== (request.cookie & mask)) return false;
    if (strict) return isSameRule(flow, request);
    if (request.outPort !== OFPP_ANY && !outputsTo(flow, request.outPort)) return false;
    // Non-strict: the flow must be at least as specific as the request's match.
    return request.match.every((r) => r.field !== 'raw' && flow.match.some((f) => f.field === r.field && sameValue(f.value, r.value) && sameValue(f.mask, r.mask)));
  }
}

function removal(flow: FlowMod, reason: number): RemovedFlow {
  return { flow, reason, notify: (flow.flags & OFPFF_SEND_FLOW_REM) !== 0 };
}

function outputsTo(flow: FlowMod, port: number): boolean {
  return flow.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'output' && a.port === port));
}

function isSameRule(a: FlowMod, b: FlowMod): boolean {
  if (a.priority !== b.priority || a.match.length !== b.match.length) return false;
  return a.match.every((x) => x.field !== 'raw' && b.match.some((y) => y.field === x.field && sameValue(x.value, y.value) && sameValue(x.mask, y.mask)));
}

function valueOf(value: OxmValue): number | string {
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return value;
}

function sameValue(a: OxmValue | undefined, b: OxmValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return toBits(valueOf(a)) === toBits(valueOf(b));
}

/** Numbers, IPv4 text and MAC text as one bigint, so masks apply uniformly. */
function toBits(value: number | string): bigint {
  if (typeof value === 'number') return BigInt(value);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(value)) return value.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) return BigInt('0x' + value.replace(/:/g, ''));
  throw new FakeFlowTableError(`cannot compare value ${value}`);
}

function matchesPacket(flow: FlowMod, fields: PacketFields): boolean {
  return flow.match.every((oxm) => {
    if (oxm.field === 'raw') throw new FakeFlowTableError('raw OXM matches are not modelled');
    const got = fields[oxm.field];
    if (got === undefined) return false;
    const mask = oxm.mask === undefined ? undefined : toBits(valueOf(oxm.mask));
    const want = toBits(valueOf(oxm.value));
    const have = toBits(got);
    return mask === undefined ? have === want : (have & mask) === (want & mask);
  });
}

/** The match fields of a parsed packet-in frame, so tests can run real frames through the simulator. */
export function fieldsOfPacket(packet: ParsedPacket): PacketFields {
  const fields: PacketFields = { eth_dst: packet.ethDst, eth_src: packet.ethSrc, eth_type: packet.ethType };
  if (packet.arp) Object.assign(fields, { arp_op: packet.arp.op, arp_spa: packet.arp.spa, arp_tpa: packet.arp.tpa, arp_sha: packet.arp.sha, arp_tha: packet.arp.tha });
  if (packet.ipv4) Object.assign(fields, { ip_proto: packet.ipv4.proto, ipv4_src: packet.ipv4.src, ipv4_dst: packet.ipv4.dst });
  if (packet.ipv4 && packet.l4) {
    const prefix = packet.ipv4.proto === 6 ? 'tcp' : 'udp';
    Object.assign(fields, { [`${prefix}_src`]: packet.l4.src, [`${prefix}_dst`]: packet.l4.dst });
  }
  if (packet.icmp) Object.assign(fields, { icmpv4_type: packet.icmp.type, icmpv4_code: packet.icmp.code });
  return fields;
}
