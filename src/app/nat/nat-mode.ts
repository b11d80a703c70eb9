// How the datapath translates a connection: one NatMode per way (per-connection flow pair; OVS's connection
// tracker), chosen once from the configuration by createNatMode (./factory.ts). Nothing outside src/app/nat
// asks which mode runs: the app calls the mode's methods, and each mode does its own thing.
import type { EgressTag } from '../../flows/egress';
import type { OutboundMessage } from '../../controller/types';
import type { ConntrackEntry } from '../../flows/conntrack-dump';
import type { VadcTables } from '../../flows/pipeline';
import type { TransportHeader } from '../../flows/packets';
import type { ConnEntry, ConnRecord } from '../../lb/conn-slots';
import type { FlowMod, FlowRemoved, FlowStats, OfpMessage, OfpPort } from '../../openflow/types';
import type { BackendLocation } from '../location';
import type { Outbox } from '../outbox';
import type { BackendState, ServiceState } from '../services';

/** How status describes the datapath (the API's `datapath` object). */
export type DatapathStatus = ({ nat: 'flows' } | { nat: 'conntrack'; ctZone: number; accounting: 'conntrack' | 'flows' }) & {
  /** Why this mode runs (the configuration's word, or what `auto` found on this host). */
  reason: string;
};

/**
 * A new connection the scheduler placed: everything its first packet's answer is made of. The record is the
 * packet-in path's scratch: a mode uses it during the call and keeps nothing of it.
 */
export interface NewConnection {
  service: ServiceState;
  backend: BackendState;
  location: BackendLocation;
  /** The first packet, as the packet-in carried it. */
  frame: Buffer;
  header: Readonly<TransportHeader>;
  inPort: number;
  softwarePort: number;
  /** The backend's address as a number (the scheduler's member has it parsed). */
  backendIp: number;
  /** An IPv6 connection's backend address, 16 bytes (the scheduler's member has it parsed); undefined for IPv4. */
  backendIp6: Uint8Array | undefined;
}

/** A packet-in for a connection the app already placed. */
export interface KnownConnection {
  service: ServiceState;
  entry: ConnEntry;
  dpid: bigint;
  frame: Buffer;
  header: Readonly<TransportHeader>;
  inPort: number;
  /** The resubmit mark the packet came back with (RESUBMIT_MARK, src/flows/builders.ts); 0n: none. */
  resubmitted: bigint;
}

/**
 * What the accounting reads each statistics poll (and once after a switch connects, to restore). `askedAt`: when the
 * reading was asked for (default: the `now` it is applied with). What it lists was true at some moment between then
 * and its arrival, so a connection missing from it is judged against that time: the tracker's listing of 100,000
 * connections takes seconds, and connections opened meanwhile are not in it.
 */
export type AccountingInput =
  | { source: 'flow_stats'; entries: readonly FlowStats[]; askedAt?: number }
  | { source: 'tracker'; entries: readonly ConntrackEntry[]; askedAt?: number };

/** When a reading was asked for (never later than `now`, the time it is applied): what it tells is true as of then. */
export function askedAtOf(input: AccountingInput, now: number): number {
  return Math.min(input.askedAt ?? now, now);
}

export interface RestoreResult {
  msgs: OfpMessage[];
  restored: number;
  /** Half-present connections whose remains were deleted. */
  orphans: number;
}

/**
 * How vadc learns what its connections do and when they end: flow statistics and flow_removed of
 * per-connection flows, or the connection tracker's listing. Chosen with the NAT mode.
 */
export interface Accounting {
  /** What the daemon reads for it: the switch's flow statistics (by connection cookie) or the tracker. */
  readonly source: AccountingInput['source'];
  /** Where a restore reads connections back from, for the event ("the switch's flows"). */
  readonly restoresFrom: string;
  /** Its readings tell whether a connection's backend answered (what UDP flows are judged by: outlier.udp_reply_within). */
  readonly seesReplies: boolean;
  /**
   * Whether its readings show every TCP connection that worked, including one that opened and closed between two
   * readings (the tracker lists it closed): the outlier detector then needs no copy of a backend's FIN, and judges
   * failures at the readings (OutlierOptions.judgeAtReadings). Connection flows vanish at a FIN: no.
   */
  readonly readsSuccesses: boolean;
  /**
   * Whether its readings show the service's TCP connection ends within seconds with no copy of a FIN (endCopySides):
   * the tracker lists a closed connection at the next poll; a connection flow goes fin_timeout after its FINs, or
   * only at its idle timeout (a minute by default) when the service sets no fin_timeout.
   */
  showsEndsSoon(service: ServiceState): boolean;
  /**
   * Whether the service learns its TCP connections' ends, and a short connection's success, from its end copies (both
   * sides' FINs and RSTs), so that the accounting's reading is only a backstop for what no copy told and may be spaced
   * (datapath.listing_share): the tracker with end copies on, for a controller-decided TCP service. False: the reading
   * must see every ended connection before the datapath lets it go (src/daemon/reading-spacing.ts listingSpacingLimit).
   * The one answer both the copies (endCopySides, through showsEndsSoon) and the listing's spacing follow.
   */
  endsFromCopies(service: Pick<ServiceState, 'l4' | 'config'>): boolean;
  /**
   * How long the datapath keeps an ended TCP connection (ms): a SYN of a reused client port that long after vadc saw
   * the connection end (its FINs' or RST's copies) is +new to the datapath, so vadc places it anew, as it would have
   * had its reading already let the old one go. undefined: until the accounting lets it go.
   */
  readonly endedKeptMs?: number;
  /** After a switch (re)connects: re-track the connections the datapath still carries. */
  restore(services: readonly ServiceState[], input: AccountingInput, now: number): RestoreResult;
  /**
   * A periodic reading: connection states, packet/byte counts, ends; returns how many connections ended. In steps,
   * one per `entriesPerSlice` entries of the reading, for a caller that lets its event loop turn between them (a
   * listing of thousands looked up at once held new connections' packet-ins back); inputs between steps are safe: a
   * connection placed meanwhile is younger than the reading and is not closed for being absent from it.
   */
  apply(services: readonly ServiceState[], input: AccountingInput, now: number, entriesPerSlice: number): Generator<void, number, undefined>;
  /** The switch removed a flow of ours: if it was a connection's, the connection ended. Messages for that switch. */
  flowRemoved(services: readonly ServiceState[], msg: FlowRemoved, now: number): OfpMessage[];
}

export interface NatMode {
  readonly status: DatapathStatus;
  /** vadc's tables (from datapath.first_table on): every flow the app builds goes to these. */
  readonly tables: VadcTables;
  /** Whether services with `decisions: datapath` get their select group (conntrack mode), or the controller decides. */
  readonly decidesInDatapath: boolean;
  readonly accounting: Accounting;
  /** The mode's own flows (and the end copies' meter) every switch gets on connect, after the common pipeline. */
  pipelineFlows(): OfpMessage[];
  /** A service's static flows (table 0 and, in conntrack mode, its reply path). */
  /**
   * `tagOf`: a vNIC's egress tag (queue, meter), for reply-path flows that outrank the vNIC's own egress flow
   * (conntrack mode's CT_REPLY); a mode whose replies pass the egress flow ignores it.
   */
  serviceFlows(service: ServiceState, tagOf?: (vnic: string) => EgressTag | undefined): FlowMod[];
  /**
   * Where the queue of a client's switch port is read (egress queues; undefined: not queued), for a new connection's
   * answer that does not pass table 0's tagged entries again (conntrack mode's commit packet-out). Flows mode's
   * packet-out goes through the tables and ignores it.
   */
  setClientQueues(queueAt: (dpid: bigint, ofport: number) => number | undefined): void;
  /**
   * Brings the per-backend flows (conntrack mode: one per located healthy backend, and the select groups of
   * services with datapath decisions, with their decision flows) in line with the services,
   * writing the changes to `out`. `switches` are the connected ones. A no-op where the mode has none.
   */
  syncBackendFlows(services: readonly ServiceState[], switches: ReadonlySet<bigint>, out: Outbox): void;
  /**
   * The group ids read from switch `dpid` after it connected: deletes for vadc's groups (its id range) this mode did
   * not install there (an earlier run's select groups, services gone or no longer deciding in the datapath).
   */
  strayGroups(dpid: bigint, groupIds: readonly number[]): OfpMessage[];
  /** A switch went away or reconnected: what was installed on it is unknown now. */
  forgetSwitch(dpid: bigint): void;
  /**
   * A service was deleted from the switches (its flows went with the delete): what it shared with other services and
   * the delete did not take (a backend address:port's end-copy flows), as the rest need it now.
   */
  forgetService(serviceId: number): FlowMod[];
  /** The first packet's answer as codec messages. */
  connect(c: NewConnection): OfpMessage[];
  /** The same answer, byte for byte, as the mode's fast path writes it (pre-encoded where it has one). */
  connectEncoded(c: NewConnection): OutboundMessage[];
  /**
   * A packet of a connection already placed (a retransmitted first packet, a datapath cache entry not yet revalidated).
   * null: the datapath has no way for the connection and the mode cannot give it one again: the app forgets it.
   */
  known(c: KnownConnection): OfpMessage[] | null;
  /** Flows that stop the established connections of a backend at `ofport` (its health said down). */
  dropBackendFlows(serviceId: number, ofport: number): FlowMod[];
  /**
   * Flows that stop the established connections `records` of a backend at `backendIp` reached through
   * `viaOfport`, a port other backends share (a remote backend behind the cluster uplink: its host failed it).
   */
  dropConnectionsVia(service: ServiceState, records: readonly ConnRecord[], backendIp: string, viaOfport: number): FlowMod[];
  /**
   * Flows that let a reused client port's SYN reach vadc again, for `records`: ended connections of backends that no
   * longer take new connections (removed, down, drained). Flows mode: their forward flows, which would take the SYN
   * to the old backend until they idle out. Conntrack mode: none (the tracker calls such a SYN new by itself).
   */
  forgetEnded(service: ServiceState, records: readonly ConnRecord[]): FlowMod[];
  /** A backend's reply its mode's reply guard sent up (flows mode; none elsewhere): sent on through the tables. */
  guardedReply(frame: Buffer, inPort: number, serviceId: number): OfpMessage[];
  /**
   * Flows for the switch's own (LOCAL) port, on connect and when a port changes (flows mode's reply guard: replies
   * to the host never come up); only what changed.
   */
  hostFlows(dpid: bigint, ports: ReadonlyMap<number, OfpPort>): FlowMod[];
}

/** Runs steps made for a caller that turns its event loop between them all at once; returns their result. */
export function runSteps<T>(steps: Generator<void, T, undefined>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
