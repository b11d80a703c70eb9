// Egress queues: what puts each queued vNIC's traffic in its queue on the egress port. Per switch: one meter per
// policed queue (sent to every switch, before any flow that names it), the table-0 EGRESS flow on the switch the
// vNIC is on, and the tag the NAT mode adds to reply-path flows that outrank it (conntrack mode's CT_REPLY).
// Chosen once from the config's `egress` section: without it nothing is ever sent; `police` picks the meters.
// The OVSDB QoS/Queue rows are the daemon's (src/ovsdb/egress-qos.ts); both number the queues with the same
// pure assignEgressQueues.
import {
  assignEgressQueues, buildDeleteAllEgressFlows, buildDeleteEgressFlow, buildDeleteEgressMeter, buildDeleteQueuedEntries, buildEgressFlow, buildEgressMeter,
  buildQueuedEntryFlows, EGRESS_METER_BASE, isEgressMeterId, type EgressQueue, type EgressTag,
} from '../flows/egress';
import type { VadcTables } from '../flows/pipeline';
import { OFPMC_MODIFY, OFPMF_BURST, OFPMF_KBPS, OFPMF_STATS } from '../openflow/constants';
import type { FlowMod, MeterMod, OfpMessage } from '../openflow/types';
import type { Outbox } from './outbox';
import { membersOf, type ServiceState } from './services';

export interface EgressTagger {
  /**
   * The services changed: the meters every switch must now hold (added, re-rated, removed), to be sent to every
   * connected switch before the service flows, which may name them.
   */
  configure(services: readonly ServiceState[]): OfpMessage[];
  /** What a switch gets when it connects, before the service flows: an earlier run's egress flows go, the meters come. */
  switchFlows(): OfpMessage[];
  /**
   * This tagger is being replaced (the egress section came, went or changed `police` in a running daemon): what
   * takes its state off every switch, sent after the new tagger's meters and the service flows that replace the
   * reply-path flows naming its meters (a deleted meter takes every flow that names it along).
   */
  teardown(): OfpMessage[];
  /**
   * The meters a switch holds (read when it connects): deletes for those in vadc's egress range that this tagger
   * does not hold. They are an earlier run's, or ones removed while the switch was away (a queue taken out, or
   * police or the whole section turned off, any number of times), which no message on reconnect names otherwise.
   */
  strayMeters(present: readonly number[]): OfpMessage[];
  /** A vNIC's tag (undefined: not queued). */
  tagOf(vnic: string): EgressTag | undefined;
  /**
   * The services' client-side table-0 entries now (flows/egress isClientEntry), which each queued vNIC gets a tagged
   * copy of (its packets to a VIP). `recreated`: a service was deleted from the switches (and its copies with it).
   */
  setClientEntries(entries: readonly FlowMod[], recreated: boolean): void;
  /** The queue of the vNIC at a switch port with a tagging flow (conntrack mode's commit packet-out sets it). */
  queueAt(dpid: bigint, ofport: number): number | undefined;
  /** Brings every switch's EGRESS flows (and queued copies of the client entries) in line with the services and where their vNICs are. */
  sync(services: readonly ServiceState[], switches: ReadonlySet<bigint>, out: Outbox): void;
  forgetSwitch(dpid: bigint): void;
}

interface Installed {
  dpid: bigint;
  ofport: number;
  tag: EgressTag;
  /** The client entries' generation its queued copies were made from. */
  generation: number;
}

const NONE: OfpMessage[] = [];

/**
 * `egress` absent: no queues, nothing sent, except `leftovers` (the teardown of the tagger it replaces in a
 * running daemon) to each switch that connects: one that was away when the section was removed still holds them.
 */
export function createEgressTagger(egress: { police: boolean } | undefined, tables: VadcTables, leftovers: readonly OfpMessage[] = NONE): EgressTagger {
  if (!egress) {
    // Its own teardown is nothing: the tagger that replaces it sends its meters first, and deleting them after
    // would take them (and every flow naming them) off again. That one's switchFlows clears a returning switch.
    const onConnect = [...leftovers];
    return {
      configure: () => NONE, switchFlows: () => onConnect, teardown: () => NONE, strayMeters: (present) => deleteStray(present, new Set()),
      tagOf: () => undefined, setClientEntries: () => undefined, queueAt: () => undefined, sync: () => undefined, forgetSwitch: () => undefined,
    };
  }
  return new QueueTagger(egress.police, tables);
}

/** Deletes for the egress meters present that are not held (meter ids, not queue ids). */
function deleteStray(present: readonly number[], held: ReadonlySet<number>): OfpMessage[] {
  return present.filter((id) => isEgressMeterId(id) && !held.has(id)).map((id) => buildDeleteEgressMeter(id - EGRESS_METER_BASE));
}

/** A meter's rate change in place: the flows that name it stay. */
function modifyMeter(queueId: number, maxRate: number): MeterMod {
  const [, add] = buildEgressMeter(queueId, maxRate);
  return { ...(add as MeterMod), command: OFPMC_MODIFY, flags: OFPMF_KBPS | OFPMF_BURST | OFPMF_STATS };
}

class QueueTagger implements EgressTagger {
  private queues = new Map<string, EgressQueue>();
  /** The policed queues' meters every switch holds: queue id -> max_rate. */
  private meters = new Map<number, number>();
  /** EGRESS flows, by "dpid/ofport". */
  private readonly installed = new Map<string, Installed>();
  /** The queue of each tagged port, by dpid then ofport (read per new connection in conntrack mode). */
  private readonly queueByPort = new Map<bigint, Map<number, number>>();
  private entries: readonly FlowMod[] = [];
  private entriesKey = '';
  private generation = 0;

  constructor(private readonly police: boolean, private readonly tables: VadcTables) {}

  configure(services: readonly ServiceState[]): OfpMessage[] {
    this.queues = new Map(assignEgressQueues(services.flatMap((s) => membersOf(s.config))).map((q) => [q.vnic, q]));
    const wanted = new Map<number, number>();
    if (this.police) for (const q of this.queues.values()) if (q.queue.max_rate) wanted.set(q.queueId, q.queue.max_rate);
    const msgs: OfpMessage[] = [];
    // A deleted meter takes the flows that name it along: the EGRESS ones are re-added by sync (their tag changed),
    // the reply-path ones by the service flows that follow these messages.
    for (const [id, rate] of this.meters) {
      const want = wanted.get(id);
      if (want === undefined) msgs.push(buildDeleteEgressMeter(id));
      else if (want !== rate) msgs.push(modifyMeter(id, want));
    }
    for (const [id, rate] of wanted) if (!this.meters.has(id)) msgs.push(...buildEgressMeter(id, rate));
    this.meters = wanted;
    return msgs;
  }

  switchFlows(): OfpMessage[] {
    return [
      buildDeleteAllEgressFlows(this.tables), buildDeleteQueuedEntries(undefined, this.tables), ...[...this.meters].flatMap(([id, rate]) => buildEgressMeter(id, rate)),
    ];
  }

  teardown(): OfpMessage[] {
    return [
      buildDeleteAllEgressFlows(this.tables), buildDeleteQueuedEntries(undefined, this.tables), ...[...this.meters.keys()].map((id) => buildDeleteEgressMeter(id)),
    ];
  }

  setClientEntries(entries: readonly FlowMod[], recreated: boolean): void {
    // Compared by content: an apply that leaves the entries as they were sends no copies again.
    const key = entries.map(entryKey).join('\n');
    if (key === this.entriesKey && !recreated) return;
    this.entries = entries;
    this.entriesKey = key;
    this.generation++;
  }

  queueAt(dpid: bigint, ofport: number): number | undefined {
    return this.queueByPort.get(dpid)?.get(ofport);
  }

  strayMeters(present: readonly number[]): OfpMessage[] {
    return deleteStray(present, new Set([...this.meters.keys()].map((queueId) => EGRESS_METER_BASE + queueId)));
  }

  tagOf(vnic: string): EgressTag | undefined {
    const q = this.queues.get(vnic);
    return q && { queueId: q.queueId, metered: this.meters.has(q.queueId) };
  }

  sync(services: readonly ServiceState[], switches: ReadonlySet<bigint>, out: Outbox): void {
    const wanted = new Map<string, Installed>();
    for (const service of services) {
      for (const state of service.backends.values()) {
        const tag = this.tagOf(state.config.vnic);
        const loc = state.location;
        // A remote backend's port is the shared uplink: its own host tags it.
        if (!tag || !loc || loc.remoteHost !== undefined || !switches.has(loc.dpid)) continue;
        wanted.set(`${loc.dpid}/${loc.ofport}`, { dpid: loc.dpid, ofport: loc.ofport, tag, generation: this.generation });
      }
    }
    for (const [key, have] of this.installed) {
      const want = wanted.get(key);
      if (want && want.tag.queueId === have.tag.queueId && want.tag.metered === have.tag.metered && want.generation === have.generation) continue;
      if (!want) out.to(have.dpid, [buildDeleteEgressFlow(have.ofport, this.tables)]);
      // The old copies go (changed entries leave none behind); the new ones follow.
      out.to(have.dpid, [buildDeleteQueuedEntries(have.ofport, this.tables)]);
      this.installed.delete(key);
      this.queueByPort.get(have.dpid)?.delete(have.ofport);
    }
    for (const [key, want] of wanted) {
      if (this.installed.has(key)) continue;
      // ADD replaces a changed flow (same match and priority).
      const spec = { ofport: want.ofport, ...want.tag };
      out.to(want.dpid, [buildEgressFlow(spec, this.tables), ...buildQueuedEntryFlows(this.entries, spec)]);
      this.installed.set(key, want);
      let ports = this.queueByPort.get(want.dpid);
      if (!ports) this.queueByPort.set(want.dpid, (ports = new Map()));
      ports.set(want.ofport, want.tag.queueId);
    }
  }

  forgetSwitch(dpid: bigint): void {
    for (const [key, have] of this.installed) if (have.dpid === dpid) this.installed.delete(key);
    this.queueByPort.delete(dpid);
  }
}

/** What makes a client entry's queued copy: its table, priority, cookie, match and instructions. */
function entryKey(flow: FlowMod): string {
  return JSON.stringify([flow.tableId, flow.priority, flow.cookie.toString(16), flow.match, flow.instructions], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
