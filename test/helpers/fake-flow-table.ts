// A small OpenFlow 1.3 pipeline simulator for unit tests: applies flow-mods the way a switch does and
// runs a packet's header fields through the tables, reporting what happens to it. Not a full switch:
// only the matching, instructions and actions vadc uses are modelled (see the unit test for what holds).
import { createHash } from 'node:crypto';
import {
  OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPFC_MODIFY, OFPFC_MODIFY_STRICT, OFPFF_SEND_FLOW_REM, OFPGC_ADD, OFPGC_DELETE,
  OFPGC_MODIFY, OFPGT_SELECT, OFPP_ANY, OFPP_CONTROLLER, OFPP_IN_PORT, OFPP_NORMAL, OFPP_TABLE, OFPRR_DELETE, OFPRR_HARD_TIMEOUT, OFPRR_IDLE_TIMEOUT, OFPTT_ALL,
} from '../../src/openflow/constants';
import type { Action, Bucket, FlowMod, GroupMod, OxmFieldName, OxmValue } from '../../src/openflow/types';
import type { ParsedPacket } from '../../src/flows/packets';
import { parseIpv6 } from '../../src/net/ipv6';

/** A packet as the header fields a switch would match on (MACs, IPv4 and IPv6 addresses as text). */
/** A packet's fields, plus what the pipeline gave it on the way: its egress queue (set_queue) and the meter it passed. */
export type PacketFields = Partial<Record<OxmFieldName | 'queue' | 'meter', number | string>>;

/**
 * `fields` is the packet as it leaves. `translated`, present only when it differs, is what OVS's translation
 * believes the packet to be at that output: after a ct(nat) without table= the datapath rewrites the packet but
 * "the original instance of the packet continues" (ovs-actions(7)). That view is what the next bridge's tables
 * match on when the port is a patch port (the lab's uplinks): translatedView() gives it.
 */
export type Outcome =
  | { kind: 'output'; port: number; fields: PacketFields; translated?: PacketFields }
  | { kind: 'normal'; fields: PacketFields; translated?: PacketFields }
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

/** One connection of the modelled connection tracker (zone, original 5-tuple, DNAT target, mark). */
interface TrackedConnection {
  zone: number;
  proto: number;
  orig: { src: string; sport: number; dst: string; dport: number };
  natDst?: { ip: string; port: number };
  mark: number;
  replySeen: boolean;
  /** TCP FIN seen from the original / reply side, or a RST from either (both then count as closed). */
  finOrig?: boolean;
  finReply?: boolean;
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

const CT = { NEW: 0x01, EST: 0x02, RPL: 0x08, TRK: 0x20, DNAT: 0x80 } as const;
const NX_CT_F_COMMIT = 1;
const NX_CT_RECIRC_NONE = 255;

export class FakeFlowTable {
  private entries: Entry[] = [];
  /** Select groups by id (what group-mods left). */
  readonly groups = new Map<number, Bucket[]>();
  /** Group-mods applied, in order (tests count them). */
  groupMods = 0;
  /**
   * A small model of OVS's connection tracker for conntrack-mode tests: ct(table=N, nat) looks the
   * packet up (original or reply direction), sets ct_state/ct_mark/ct_nw_dst/ct_tp_dst, applies the
   * connection's NAT, and continues in table N; ct(commit, exec(set ct_mark), nat(dst=...)) creates it.
   * +new until the connection has seen a reply (as OVS does for TCP before the handshake ends).
   */
  readonly connections: TrackedConnection[] = [];

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

  /** Every flow and group gone, the tracker kept: what ovs-vsctl del-controller leaves on OVS 3.1 (fail_mode secure). */
  clear(): void {
    this.entries = [];
    this.groups.clear();
  }

  /**
   * Applies a group-mod as OVS does: add fails on an existing group, modify on a missing one; delete removes the
   * group and, as OpenFlow says, every flow that points to it (deleting a missing group is no error).
   */
  applyGroup(g: GroupMod): void {
    this.groupMods++;
    if (g.command === OFPGC_DELETE) {
      this.groups.delete(g.groupId);
      this.entries = this.entries.filter((e) => !e.flow.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'group' && a.groupId === g.groupId)));
      return;
    }
    if (g.groupType !== OFPGT_SELECT) throw new FakeFlowTableError(`group type ${g.groupType} is not modelled`);
    if (g.command === OFPGC_ADD && this.groups.has(g.groupId)) throw new FakeFlowTableError(`group ${g.groupId} exists (OFPGMFC_GROUP_EXISTS)`);
    if (g.command === OFPGC_MODIFY && !this.groups.has(g.groupId)) throw new FakeFlowTableError(`group ${g.groupId} does not exist (OFPGMFC_UNKNOWN_GROUP)`);
    if (g.command !== OFPGC_ADD && g.command !== OFPGC_MODIFY) throw new FakeFlowTableError(`unknown group-mod command ${g.command}`);
    this.groups.set(g.groupId, g.buckets);
  }

  /** A select group's choice for a packet: by a hash of its 5-tuple, in proportion to the bucket weights (as OVS's dp_hash). */
  private selectBucket(groupId: number, f: PacketFields): Bucket {
    const buckets = this.groups.get(groupId);
    if (!buckets) throw new FakeFlowTableError(`group ${groupId} does not exist`);
    const total = buckets.reduce((n, b) => n + b.weight, 0);
    if (total === 0) throw new FakeFlowTableError(`group ${groupId} has no bucket with weight`);
    const digest = createHash('sha256').update(`${f.ip_proto}/${addr(f, 'src')}/${l4(f, 'src')}/${addr(f, 'dst')}/${l4(f, 'dst')}`).digest();
    let point = digest.readUInt32BE(0) % total;
    for (const b of buckets) {
      if (point < b.weight) return b;
      point -= b.weight;
    }
    throw new FakeFlowTableError('unreachable');
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

  /**
   * Runs a packet arriving on `inPort` through the pipeline from table 0; returns every outcome in order. `taken`, when
   * given, receives the flow each table lookup chose, in order (what a datapath cache entry is made of).
   */
  process(packet: PacketFields, inPort: number, now = 0, taken?: FlowMod[]): Outcome[] {
    // `fields`: the translation's view, what the tables match and actions read; `hidden`: the datapath's rewrites
    // it does not see (a ct(commit, nat) without recirculation), until a set_field of the field or a recirculation.
    let fields: PacketFields = { ...packet, in_port: inPort };
    let hidden: PacketFields = {};
    const wire = (): PacketFields => ({ ...fields, ...hidden });
    // Metadata is the pipeline's, never the packet's: it does not leave with it (a packet-in reports it: wire()).
    const leaving = (): { fields: PacketFields; translated?: PacketFields } => {
      const { metadata: _pipeline, ...onWire } = wire();
      return Object.keys(hidden).some((k) => hidden[k as keyof PacketFields] !== fields[k as keyof PacketFields]) ? { fields: onWire, translated: { ...fields } } : { fields: onWire };
    };
    const outcomes: Outcome[] = [];
    let tableId: number | undefined = 0;
    const visited = new Set<number>();
    let recirculations = 0;
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
      taken?.push(entry.flow);
      const currentTable: number = tableId;
      tableId = undefined;
      for (const instruction of entry.flow.instructions) {
        if (instruction.type === 'apply_actions') {
          const queue = [...instruction.actions];
          for (let action = queue.shift(); action; action = queue.shift()) {
            if (action.type === 'group') {
              queue.unshift(...this.selectBucket(action.groupId, fields).actions);
            } else if (action.type === 'set_field') {
              if (action.field.field === 'raw') throw new FakeFlowTableError('raw set_field is not modelled');
              fields = { ...fields, [action.field.field]: valueOf(action.field.value) };
              const { [action.field.field]: _set, ...rest } = hidden;
              hidden = rest;
            } else if (action.type === 'output') {
              if (action.port === OFPP_NORMAL) outcomes.push({ kind: 'normal', ...leaving() });
              else if (action.port === OFPP_CONTROLLER) outcomes.push({ kind: 'controller', tableId: currentTable, cookie: entry.flow.cookie, fields: wire() });
              else outcomes.push({ kind: 'output', port: action.port === OFPP_IN_PORT ? inPort : action.port, ...leaving() });
            } else if (action.type === 'nx_controller2') {
              // A copy to the controller (its meter is the switch's business); the packet goes on.
              outcomes.push({ kind: 'controller', tableId: currentTable, cookie: entry.flow.cookie, fields: wire() });
            } else if (action.type === 'nx_ct' && action.recircTable !== NX_CT_RECIRC_NONE) {
              if (++recirculations > 4) throw new FakeFlowTableError('recirculation loop');
              // The datapath's packet is what recirculates: the translation sees its rewrites from here on.
              fields = wire();
              hidden = {};
              // ct(commit, ..., table=N): the connection is created (mark, NAT) and the packet continues translated.
              if (action.flags & NX_CT_F_COMMIT) this.commit(fields, action);
              fields = this.track(fields, action.zoneOfsNbits, action.actions.some((a) => a.type === 'nx_nat'));
              tableId = action.recircTable;
              visited.clear();
            } else if (action.type === 'nx_ct') {
              // Without table=: the datapath translates the packet, the actions after it still see the original.
              const translated = this.commit(wire(), action);
              const before = wire();
              for (const key of Object.keys(translated) as (keyof PacketFields)[]) {
                if (translated[key] !== before[key] && key !== 'ct_mark') hidden = { ...hidden, [key]: translated[key] };
              }
              fields = { ...fields, ct_mark: translated.ct_mark ?? fields.ct_mark };
            } else if (action.type === 'nx_output_reg') {
              const src = action.src;
              if (src !== 'ct_mark') throw new FakeFlowTableError(`output_reg from ${String(src)} is not modelled`);
              const ofs = action.ofsNbits >> 6;
              const bits = (action.ofsNbits & 0x3f) + 1;
              const port = Math.floor(Number(fields.ct_mark ?? 0) / 2 ** ofs) % 2 ** bits;
              outcomes.push({ kind: 'output', port, ...leaving() });
            } else if (action.type === 'set_queue') {
              fields = { ...fields, queue: action.queueId };
            } else if (action.type !== 'nx_fin_timeout') {
              throw new FakeFlowTableError(`action ${action.type} is not modelled`);
            }
          }
        } else if (instruction.type === 'meter') {
          // The meter's rate is the switch's business; the packet is marked as having passed it.
          fields = { ...fields, meter: instruction.meterId };
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

  /** Runs a packet-out's action list on a packet that entered on `inPort` (what the switch does with it). */
  executePacketOut(packet: PacketFields, inPort: number, actions: Action[]): Outcome[] {
    // Fields set, then output:TABLE: the packet goes through the tables as it entered, with those fields.
    const last = actions.at(-1);
    if (last?.type === 'output' && last.port === OFPP_TABLE && actions.length > 1) {
      let fields = packet;
      for (const a of actions.slice(0, -1)) {
        if (a.type !== 'set_field' || a.field.field === 'raw') throw new FakeFlowTableError(`packet-out action ${a.type} before output:TABLE is not modelled`);
        fields = { ...fields, [a.field.field]: valueOf(a.field.value) };
      }
      return this.process(fields, inPort).filter((o) => o.kind !== 'drop');
    }
    const flow: FlowMod = {
      type: 'flow_mod', xid: 0, cookie: 0n, cookieMask: 0n, tableId: 0, command: OFPFC_ADD, idleTimeout: 0, hardTimeout: 0, priority: 0,
      bufferId: 0, outPort: 0, outGroup: 0, flags: 0, match: [], instructions: [{ type: 'apply_actions', actions }],
    };
    const saved = this.entries;
    this.entries = [{ flow, lastUsed: 0, installedAt: 0, packets: 0 }];
    try {
      return this.process(packet, inPort).filter((o) => o.kind !== 'drop');
    } finally {
      this.entries = saved;
    }
  }

  private find(zone: number, f: PacketFields): { conn: TrackedConnection; reply: boolean } | undefined {
    const [src, dst, sport, dport] = [addr(f, 'src'), addr(f, 'dst'), l4(f, 'src'), l4(f, 'dst')];
    for (const conn of this.connections) {
      if (conn.zone !== zone || conn.proto !== f.ip_proto) continue;
      const o = conn.orig;
      if (o.src === src && o.sport === sport && o.dst === dst && o.dport === dport) return { conn, reply: false };
      const replySrc = conn.natDst ?? { ip: o.dst, port: o.dport };
      if (replySrc.ip === src && replySrc.port === sport && o.src === dst && o.sport === dport) return { conn, reply: true };
    }
    return undefined;
  }

  private track(f: PacketFields, zone: number, nat: boolean): PacketFields {
    const found = this.find(zone, f);
    if (!found) return { ...f, ct_state: CT.TRK | CT.NEW, ct_mark: 0, ct_zone: zone };
    const { conn, reply } = found;
    const flags = f.ip_proto === 6 && f.tcp_flags !== undefined ? Number(f.tcp_flags) : 0;
    // OVS's userspace tracker (lib/conntrack-tcp.c, tcp_conn_update): a pure SYN on a connection both of whose sides
    // have closed (FIN_WAIT_2 or later) is a new connection (CT_UPDATE_NEW): the old entry goes, the SYN is +new.
    if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && conn.finOrig && conn.finReply) {
      this.connections.splice(this.connections.indexOf(conn), 1);
      return { ...f, ct_state: CT.TRK | CT.NEW, ct_mark: 0, ct_zone: zone };
    }
    if (flags & TCP_RST) conn.finOrig = conn.finReply = true;
    else if (flags & TCP_FIN) conn[reply ? 'finReply' : 'finOrig'] = true;
    if (reply) conn.replySeen = true;
    // +dnat: the tracker translated the destination (original direction of a DNATed connection).
    const state = CT.TRK | (reply ? CT.EST | CT.RPL : conn.replySeen ? CT.EST : CT.NEW) | (nat && conn.natDst && !reply ? CT.DNAT : 0);
    const v6 = isV6(f);
    const out: PacketFields = {
      ...f, ct_state: state, ct_mark: conn.mark, ct_zone: zone, ct_nw_proto: conn.proto, [v6 ? 'ct_ipv6_dst' : 'ct_nw_dst']: conn.orig.dst, ct_tp_dst: conn.orig.dport,
    };
    if (nat && conn.natDst) {
      const p = f.ip_proto === 6 ? 'tcp' : 'udp';
      if (reply) Object.assign(out, { [v6 ? 'ipv6_src' : 'ipv4_src']: conn.orig.dst, [`${p}_src`]: conn.orig.dport });
      else Object.assign(out, { [v6 ? 'ipv6_dst' : 'ipv4_dst']: conn.natDst.ip, [`${p}_dst`]: conn.natDst.port });
    }
    return out;
  }

  private commit(f: PacketFields, action: Action): PacketFields {
    if (action.type !== 'nx_ct' || !(action.flags & NX_CT_F_COMMIT)) throw new FakeFlowTableError('only ct(commit) is modelled here');
    const zone = action.zoneOfsNbits;
    let conn = this.find(zone, f)?.conn;
    if (!conn) {
      conn = { zone, proto: Number(f.ip_proto), orig: { src: addr(f, 'src'), sport: l4(f, 'src'), dst: addr(f, 'dst'), dport: l4(f, 'dst') }, mark: 0, replySeen: false };
      for (const inner of action.actions) {
        if (inner.type === 'set_field' && inner.field.field === 'ct_mark') conn.mark = Number(inner.field.value);
        if (inner.type === 'nx_reg_move' && inner.dstField === 'ct_mark') {
          const from = Math.floor(Number(f[inner.srcField as OxmFieldName] ?? 0) / 2 ** inner.srcOfs) % 2 ** inner.nBits;
          conn.mark = writeBits(conn.mark, inner.dstOfs, inner.nBits, from);
        }
        if (inner.type === 'nx_reg_load' && inner.dst === 'ct_mark') conn.mark = writeBits(conn.mark, inner.ofsNbits >> 6, (inner.ofsNbits & 0x3f) + 1, Number(inner.value));
        if (inner.type === 'nx_nat' && inner.rangeIpv4Min) conn.natDst = { ip: inner.rangeIpv4Min, port: inner.rangeProtoMin ?? conn.orig.dport };
        // A NAT target of the other family than the packet's cannot be applied (OVS refuses it): not modelled.
        if (inner.type === 'nx_nat' && inner.rangeIpv6Min) {
          if (!isV6(f)) throw new FakeFlowTableError(`nat to IPv6 ${inner.rangeIpv6Min} of an IPv4 packet`);
          conn.natDst = { ip: inner.rangeIpv6Min, port: inner.rangeProtoMin ?? conn.orig.dport };
        }
        if (inner.type === 'nx_nat' && inner.rangeIpv4Min && isV6(f)) throw new FakeFlowTableError(`nat to IPv4 ${inner.rangeIpv4Min} of an IPv6 packet`);
      }
      this.connections.push(conn);
    }
    // The tracker keeps the first binding; the packet is translated by it.
    const p = f.ip_proto === 6 ? 'tcp' : 'udp';
    return conn.natDst ? { ...f, [isV6(f) ? 'ipv6_dst' : 'ipv4_dst']: conn.natDst.ip, [`${p}_dst`]: conn.natDst.port, ct_mark: conn.mark } : f;
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

/** `value` written into bits ofs..ofs+nBits-1 of a 32-bit word. */
function writeBits(word: number, ofs: number, nBits: number, value: number): number {
  const mask = (2 ** nBits - 1) * 2 ** ofs;
  return ((word & ~mask) + (value % 2 ** nBits) * 2 ** ofs) >>> 0;
}

function isV6(f: PacketFields): boolean {
  return f.eth_type === 0x86dd;
}

/** A packet's source or destination address, of whichever family it is. */
function addr(f: PacketFields, side: 'src' | 'dst'): string {
  return String(isV6(f) ? f[`ipv6_${side}`] : f[`ipv4_${side}`]);
}

function l4(f: PacketFields, side: 'src' | 'dst'): number {
  return Number(f[`tcp_${side}`] ?? f[`udp_${side}`]);
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

/** Numbers, IPv4 and IPv6 text and MAC text as one bigint, so masks apply uniformly. */
function toBits(value: number | string): bigint {
  if (typeof value === 'number') return BigInt(value);
  if (value.includes(':') && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) {
    return [...parseIpv6(value)].reduce((acc, o) => (acc << 8n) | BigInt(o), 0n);
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(value)) return value.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) return BigInt('0x' + value.replace(/:/g, ''));
  throw new FakeFlowTableError(`cannot compare value ${value}`);
}

function matchesPacket(flow: FlowMod, fields: PacketFields): boolean {
  return flow.match.every((oxm) => {
    if (oxm.field === 'raw') throw new FakeFlowTableError('raw OXM matches are not modelled');
    // An untracked packet has ct_state and ct_mark 0 (OVS matches -trk on it); metadata starts at 0 in the pipeline.
    const got = fields[oxm.field] ?? (oxm.field === 'ct_state' || oxm.field === 'ct_mark' || oxm.field === 'metadata' ? 0 : undefined);
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
  // OVS's default fragment handling (OFPC_FRAG_NORMAL) looks any fragment up with ports 0 (ofproto-dpif.c
  // rule_dpif_lookup_from_table), and gives an IPv6 later fragment ip_proto 44, its fragment header's (lib/flow.c).
  const fragment = packet.ipv4?.fragment === true || packet.ipv6?.fragment === true;
  if (packet.ipv4 && packet.l4) {
    const prefix = packet.ipv4.proto === 6 ? 'tcp' : 'udp';
    Object.assign(fields, { [`${prefix}_src`]: fragment ? 0 : packet.l4.src, [`${prefix}_dst`]: fragment ? 0 : packet.l4.dst });
    if (packet.l4.tcpFlags !== undefined) fields.tcp_flags = packet.l4.tcpFlags;
  }
  if (packet.ipv6) Object.assign(fields, { ip_proto: packet.ipv6.laterFragment ? 44 : packet.ipv6.proto, ipv6_src: packet.ipv6.src, ipv6_dst: packet.ipv6.dst });
  if (packet.ipv6 && packet.l4) {
    const prefix = packet.ipv6.proto === 6 ? 'tcp' : 'udp';
    Object.assign(fields, { [`${prefix}_src`]: fragment ? 0 : packet.l4.src, [`${prefix}_dst`]: fragment ? 0 : packet.l4.dst });
    if (packet.l4.tcpFlags !== undefined) fields.tcp_flags = packet.l4.tcpFlags;
  }
  if (packet.icmp && packet.ipv4) Object.assign(fields, { icmpv4_type: packet.icmp.type, icmpv4_code: packet.icmp.code });
  if (packet.icmp && packet.ipv6) Object.assign(fields, { icmpv6_type: packet.icmp.type, icmpv6_code: packet.icmp.code });
  if (packet.nd) fields.ipv6_nd_target = packet.nd.target;
  return fields;
}

/** What the next bridge's tables would match on, past a patch port: the translation's view of a leaving packet. */
export function translatedView(outcome: Extract<Outcome, { kind: 'output' | 'normal' }>): PacketFields {
  return outcome.translated ?? outcome.fields;
}

/**
 * A small model of OVS's datapath flow cache (megaflows) in front of a FakeFlowTable, for the races flows mode has
 * with it. A packet no cached entry covers is translated by the tables (an upcall) and leaves an entry: the path it
 * took (the flow each table chose), keyed on its in_port and on every field those flows match, under their masks.
 * A packet an entry covers takes that entry's path, whatever the tables hold now, until `revalidate()` (OVS's
 * revalidators catching up with the flow-mods). OVS un-wildcards at least the fields of the flows a packet took
 * (it may add more: the fields of higher-priority flows it had to rule out), so an entry here covers at least as
 * many packets as OVS's would: a packet that misses an entry here misses it in OVS too. Flows mode only (no
 * tracker, no groups).
 */
export class FakeDatapathCache {
  private entries: Array<{ key: PacketFields; mask: Map<string, bigint | undefined>; path: FakeFlowTable }> = [];
  /** Packets translated by the tables (upcalls) and packets an entry took, since the start. */
  upcalls = 0;
  hits = 0;

  constructor(private readonly table: FakeFlowTable) {}

  process(packet: PacketFields, inPort: number, now = 0): Outcome[] {
    const fields: PacketFields = { ...packet, in_port: inPort };
    const hit = this.entries.find((e) => covers(e.key, e.mask, fields));
    if (hit) {
      this.hits++;
      return hit.path.process(packet, inPort, now);
    }
    this.upcalls++;
    const taken: FlowMod[] = [];
    const outcomes = this.table.process(packet, inPort, now, taken);
    const mask = new Map<string, bigint | undefined>([['in_port', undefined]]);
    for (const flow of taken) {
      for (const oxm of flow.match) {
        if (oxm.field === 'raw') throw new FakeFlowTableError('raw OXM matches are not modelled');
        const m = oxm.mask === undefined ? undefined : toBits(valueOf(oxm.mask));
        // undefined: every bit (an exact match); a flow's mask adds its bits to what the path already matched.
        const had = mask.has(oxm.field) ? mask.get(oxm.field) : 0n;
        mask.set(oxm.field, had === undefined || m === undefined ? undefined : had | m);
      }
    }
    const path = new FakeFlowTable();
    path.applyAll(taken.map((f) => ({ ...f, command: OFPFC_ADD, idleTimeout: 0, hardTimeout: 0 })));
    this.entries.push({ key: fields, mask, path });
    return outcomes;
  }

  /** The revalidators have caught up: every entry goes (the next packets are translated by the tables as they are). */
  revalidate(): void {
    this.entries = [];
  }
}

function covers(key: PacketFields, mask: Map<string, bigint | undefined>, fields: PacketFields): boolean {
  for (const [field, m] of mask) {
    const a = key[field as keyof PacketFields];
    const b = fields[field as keyof PacketFields];
    if (a === undefined || b === undefined) {
      if (a !== b) return false;
      continue;
    }
    const x = toBits(a);
    const y = toBits(b);
    if (m === undefined ? x !== y : (x & m) !== (y & m)) return false;
  }
  return true;
}
