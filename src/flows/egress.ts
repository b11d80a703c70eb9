/**
 * Egress queues (docs/operators/egress-queues.md): which OpenFlow queue each queued vNIC gets on the egress
 * port, and the table-0 flow that tags everything the vNIC sends with it:
 *
 *   table 0  EGRESS (15)  in_port=<vNIC> -> [meter <vadc egress meter>] set_queue:<id>, goto vip-reverse
 *   table 0  CT_REPLY     (conntrack mode) a queued backend's replies: the same tag before ct(nat) (withEgressTag)
 *   table 0  QUEUED_*     in_port=<vNIC> + a service's client-side entry (SERVICE, END_COPY and their IPv6 bands)
 *                         -> [meter] set_queue:<id>, then as the entry: the vNIC's packets to a VIP (the VM as a client)
 *
 * It shadows only RETURN and the miss (TCP/UDP to table 2, the rest NORMAL, both ending in NORMAL or a
 * connection's reverse flow), so the vNIC's traffic goes where it went before, with the queue set. The queue
 * (OVS skb priority) reaches a kernel datapath's qdisc on the egress port; the userspace datapath does not
 * pass it to the kernel, so there the meter (police: true) is what limits the rate. Builders only; pure.
 */
import { OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPG_ANY, OFPMC_ADD, OFPMC_DELETE, OFPMF_BURST, OFPMF_KBPS, OFPMF_STATS, OFPP_ANY, OFP_NO_BUFFER } from '../openflow/constants';
import type { FlowMod, Instruction, MeterMod } from '../openflow/types';
import { allFlowsOfKind, allVadcFlows, makeCookie } from './cookies';
import { PRIORITY, TABLE, type VadcTables } from './pipeline';

/** A queue's settings, as configured (bit/s). */
export interface QueueSpec {
  min_rate?: number;
  max_rate?: number;
  priority?: number;
}

export interface EgressQueue {
  /** The vNIC selector, as configured. */
  vnic: string;
  /** The OpenFlow queue id on the egress port: 1..N (0 is the port's default queue, which vadc leaves alone). */
  queueId: number;
  queue: QueueSpec;
}

/** Most queued vNICs: each is a Queue row, a qdisc class and (policed) a meter on every switch. */
export const MAX_EGRESS_QUEUES = 4096;

/**
 * Queue ids for the queued vNICs: one per vNIC (the config rules make every backend on one vNIC agree), numbered
 * from 1 in vNIC order, so the same configuration always gives the same ids (the flows and the OVSDB rows are
 * made from it independently). Beyond MAX_EGRESS_QUEUES the rest get none.
 */
export function assignEgressQueues(members: Iterable<{ vnic: string; queue?: QueueSpec }>): EgressQueue[] {
  const byVnic = new Map<string, QueueSpec>();
  for (const m of members) if (m.queue && !byVnic.has(m.vnic)) byVnic.set(m.vnic, m.queue);
  return [...byVnic.keys()].sort().slice(0, MAX_EGRESS_QUEUES).map((vnic, i) => ({ vnic, queueId: i + 1, queue: byVnic.get(vnic)! }));
}

/** vadc's egress meters: base + queue id ("adc" then the queue), clear of the end-copy meter (0xadc). */
export const EGRESS_METER_BASE = 0x0adc_0000;
export const egressMeterId = (queueId: number): number => EGRESS_METER_BASE + queueId;
/** Whether a meter id is in vadc's egress range (one per possible queue), which vadc alone manages on a switch. */
export const isEgressMeterId = (meterId: number): boolean => meterId > EGRESS_METER_BASE && meterId <= EGRESS_METER_BASE + MAX_EGRESS_QUEUES;

/**
 * Burst of an egress meter, as a share of a second of its rate. Measured on the userspace datapath (iperf3 TCP):
 * 0.2 s keeps TCP within ~5 % of the rate; no burst allowance cut a 50 Mbit/s meter to 28 Mbit/s.
 */
export const EGRESS_METER_BURST_SECONDS = 0.2;

/** The meter that polices a queue at its max_rate: delete (an older one may be there) then add. */
export function buildEgressMeter(queueId: number, maxRateBps: number): MeterMod[] {
  const meterId = egressMeterId(queueId);
  const kbps = Math.max(1, Math.ceil(maxRateBps / 1000));
  return [
    buildDeleteEgressMeter(queueId),
    {
      type: 'meter_mod', xid: 0, command: OFPMC_ADD, flags: OFPMF_KBPS | OFPMF_BURST | OFPMF_STATS, meterId,
      bands: [{ type: 'drop', rate: kbps, burstSize: Math.max(1, Math.ceil(kbps * EGRESS_METER_BURST_SECONDS)) }],
    },
  ];
}

export function buildDeleteEgressMeter(queueId: number): MeterMod {
  return { type: 'meter_mod', xid: 0, command: OFPMC_DELETE, flags: 0, meterId: egressMeterId(queueId), bands: [] };
}

/** What tags a vNIC's packets: its queue, and whether its meter polices them. */
export interface EgressTag {
  queueId: number;
  metered: boolean;
}

/**
 * A flow's instructions with the tag put in front: the meter first (OpenFlow runs it before any action), then
 * set_queue at the head of the first apply_actions (or in one of its own before a goto).
 */
export function withEgressTag(instructions: readonly Instruction[], tag: EgressTag): Instruction[] {
  const meter: Instruction[] = tag.metered ? [{ type: 'meter', meterId: egressMeterId(tag.queueId) }] : [];
  const setQueue = { type: 'set_queue' as const, queueId: tag.queueId };
  const [first, ...rest] = instructions;
  if (first?.type === 'apply_actions') return [...meter, { type: 'apply_actions', actions: [setQueue, ...first.actions] }, ...rest];
  return [...meter, { type: 'apply_actions', actions: [setQueue] }, ...instructions];
}

export interface EgressFlowSpec {
  /** The vNIC's OpenFlow port. */
  ofport: number;
  queueId: number;
  /** Police with the queue's meter (it must be on the switch first). */
  metered: boolean;
}

function egressBase(ofport: number, tables: VadcTables): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: 0n, cookieMask: 0n, tableId: tables.CLASSIFY, command: OFPFC_ADD, idleTimeout: 0, hardTimeout: 0,
    priority: PRIORITY.EGRESS.min, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0,
    match: [{ field: 'in_port', value: ofport }], instructions: [],
  };
}

/** The vNIC's tagging flow (cookie kind egress, the queue id in the low bits) in vadc's first table. */
export function buildEgressFlow(spec: EgressFlowSpec, tables: VadcTables = TABLE): FlowMod {
  const instructions = withEgressTag([{ type: 'goto_table', tableId: tables.REVERSE }], spec);
  return { ...egressBase(spec.ofport, tables), cookie: makeCookie('egress', 0, spec.queueId), instructions };
}

/** Removes one vNIC's tagging flow (exact match and priority, vadc egress flows only). */
export function buildDeleteEgressFlow(ofport: number, tables: VadcTables = TABLE): FlowMod {
  const selector = allFlowsOfKind('egress');
  return { ...egressBase(ofport, tables), command: OFPFC_DELETE_STRICT, cookie: selector.cookie, cookieMask: selector.cookieMask };
}

/** Removes every egress flow of vadc (a switch that connects may carry an earlier run's). */
export function buildDeleteAllEgressFlows(tables: VadcTables = TABLE): FlowMod {
  const selector = allFlowsOfKind('egress');
  return { ...egressBase(0, tables), match: [], priority: 0, command: OFPFC_DELETE, cookie: selector.cookie, cookieMask: selector.cookieMask };
}

/**
 * A queued vNIC's packets to a VIP take the service's table-0 entry (it matches any port), which outranks the EGRESS
 * flow. So each queued vNIC gets a copy of every client-side entry with `in_port` added, the tag in front, and the
 * entry's priority moved up into a QUEUED_* band by one offset per family: above every entry of its family, in the
 * same order among themselves (longest prefix first, a FIN/RST copy above its service). set_queue (OVS's skb
 * priority) is packet metadata: it goes with the packet through goto_table, ct(table=N)'s recirculation and the
 * resubmitted packet-out of a new connection, to the output.
 */
const QUEUED_SHIFT: ReadonlyArray<{ from: { min: number; max: number }; shift: number }> = [
  { from: PRIORITY.SERVICE, shift: PRIORITY.QUEUED_SERVICE.min - PRIORITY.SERVICE.min },
  { from: PRIORITY.END_COPY, shift: PRIORITY.QUEUED_END_COPY.min - PRIORITY.END_COPY.min },
  { from: PRIORITY.SERVICE6, shift: PRIORITY.QUEUED_SERVICE6.min - PRIORITY.SERVICE6.min },
  { from: PRIORITY.END_COPY6, shift: PRIORITY.QUEUED_END_COPY6.min - PRIORITY.END_COPY6.min },
];

/** The queued copy's priority of a client-side entry's, or undefined when the priority is not a client-side entry's. */
function queuedPriority(priority: number): number | undefined {
  const band = QUEUED_SHIFT.find((b) => priority >= b.from.min && priority <= b.from.max);
  return band && priority + band.shift;
}

/** A flow of a service that a client's packet to its VIP enters by (table 0, SERVICE / END_COPY bands): what is copied per queued vNIC. */
export function isClientEntry(flow: FlowMod, tables: VadcTables = TABLE): boolean {
  return flow.tableId === tables.CLASSIFY && flow.command === OFPFC_ADD && queuedPriority(flow.priority) !== undefined;
}

/**
 * Marks a queued copy in its cookie's low bits (the connection id, 0 in every entry it copies): the copies keep the
 * entry's kind and service (a service's delete takes them, an end copy's packet-in is read as one) and can be deleted
 * apart from everything else.
 */
export const QUEUED_ENTRY_MARK = 1n << 27n;
const queuedEntries = () => {
  const all = allVadcFlows();
  return { cookie: all.cookie | QUEUED_ENTRY_MARK, cookieMask: all.cookieMask | QUEUED_ENTRY_MARK };
};

/** The vNIC's copies of the client-side entries (isClientEntry). */
export function buildQueuedEntryFlows(entries: readonly FlowMod[], spec: EgressFlowSpec): FlowMod[] {
  const out: FlowMod[] = [];
  for (const entry of entries) {
    const priority = queuedPriority(entry.priority);
    if (priority === undefined) continue;
    out.push({
      ...entry, cookie: entry.cookie | QUEUED_ENTRY_MARK, priority, match: [{ field: 'in_port', value: spec.ofport }, ...entry.match],
      instructions: withEgressTag(entry.instructions, spec),
    });
  }
  return out;
}

/** Removes the queued copies of one vNIC's port (all of them, undefined), and nothing else (non-strict, table 0 only). */
export function buildDeleteQueuedEntries(ofport: number | undefined, tables: VadcTables = TABLE): FlowMod {
  return {
    ...egressBase(0, tables), ...queuedEntries(), command: OFPFC_DELETE, priority: 0,
    match: ofport === undefined ? [] : [{ field: 'in_port', value: ofport }],
  };
}
