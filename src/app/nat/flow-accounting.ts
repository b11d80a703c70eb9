// Accounting by per-connection flows: each connection has flows carrying its cookie; flow statistics say
// what it carried and whether it is established, and its flow_removed says it ended. Two shapes of it:
// flows mode's forward/reverse NAT pair, and conntrack mode's single accounting flow.
import type { ConnectionSpec } from '../../flows/builders';
import { readConnectionFlows } from '../../flows/connection-reading';
import { ctConnectionFromFlow } from '../../flows/conntrack';
import { buildDeleteConnection } from '../../flows/builders';
import { connectionIndex, connectionIndexOf, MAX_CONNECTION_ID, parseCookie, serviceOfConnectionIndex } from '../../flows/cookies';
import { IP_PROTO_TCP, IP_PROTO_UDP } from '../../flows/packets';
import { TABLE, type VadcTables } from '../../flows/pipeline';
import { connKeyFromText, type ConnKey } from '../../lb/conn-key';
import type { ConnRecord } from '../../lb/conn-slots';
import { OFPRR_DELETE, OFPRR_IDLE_TIMEOUT } from '../../openflow/constants';
import type { FlowRemoved, FlowStats, OfpMessage, Oxm } from '../../openflow/types';
import type { BackendState, ServiceState } from '../services';
import { backendAtText, backendsByAddress } from './common';
import { askedAtOf, type Accounting, type AccountingInput, type RestoreResult } from './nat-mode';

/** What differs between the two flow shapes. */
interface ConnectionFlowShape {
  /** Its flows count the backend's packets apart from the client's (replied() can answer). */
  canTellReplies: boolean;
  /** Connections (and the cookies of incomplete ones) from the flow-stats entries of connection cookies. */
  read(entries: readonly FlowStats[], t: VadcTables): { connections: ConnectionSpec[]; orphans: bigint[] };
  /** The connection key from the flow that carries it (the client's 5-tuple as the client sent it). */
  key(flow: { match: readonly Oxm[] }, proto: number): ConnKey | undefined;
  /** Whether the backend answered (a packet in the reply direction); undefined: this shape cannot tell. */
  replied(forward: FlowStats, reverse: FlowStats | undefined): boolean | undefined;
  /** A TCP connection is established when its flows show it (one stats entry set per connection). */
  established(forward: FlowStats, reverse: FlowStats | undefined): boolean;
  /** Messages when the connection's flow went (flows mode: the reverse half with it). */
  afterRemoved(service: ServiceState, connectionId: number, msg: FlowRemoved): OfpMessage[];
  /** A flow of another table than the forward one went: does that end the connection (flows mode's reverse half)? */
  endedByOtherHalf(service: ServiceState, msg: FlowRemoved): boolean;
}

/**
 * How long a connection flow's removal seen while the connection was not tracked is remembered (ms): longer than a
 * restore's reading takes (100,000 connections' flows: seconds on a loaded host), so a reading asked for before the
 * removal does not bring the connection back.
 */
export const GONE_UNTRACKED_KEEP_MS = 120_000;

export class FlowAccounting implements Accounting {
  readonly source = 'flow_stats' as const;
  readonly restoresFrom = "the switch's flows";
  /** Flows mode's pair counts the reply direction apart; conntrack mode's one accounting flow counts both together. */
  readonly seesReplies: boolean;
  /** A connection flow of a connection that closed is gone at the next reading: what it was is not told. */
  readonly readsSuccesses = false;
  /**
   * Connections (connectionIndex) whose flow the switch removed while they were not tracked here, with when, oldest
   * first. A restore's reading that lists one of them was made before the removal, and the flow_removed can even be
   * handled before the reading's import (decoded in the same socket read as its last part): re-tracked, the
   * connection would stay tracked with no flows for ever. A standby sees every end of the master's connections this
   * way: kept GONE_UNTRACKED_KEEP_MS only.
   */
  private readonly goneUntracked = new Map<number, number>();

  /** Only a fin_timeout cuts a closed connection's flows short of their idle timeout. */
  showsEndsSoon(service: ServiceState): boolean {
    return service.config.fin_timeout > 0;
  }

  /** Each reading (flow statistics) is needed as it comes: flow removals tell the ends, the reading the traffic. */
  endsFromCopies(): boolean {
    return false;
  }

  constructor(private readonly shape: ConnectionFlowShape, private readonly tables: VadcTables = TABLE) {
    this.seesReplies = shape.canTellReplies;
  }

  restore(services: readonly ServiceState[], input: AccountingInput, now: number): RestoreResult {
    if (input.source !== 'flow_stats') return { msgs: [], restored: 0, orphans: 0 };
    const { connections, orphans } = this.shape.read(input.entries, this.tables);
    const msgs: OfpMessage[] = [];
    // Removed since the reading was asked for: the listing is older than the removal (see goneUntracked).
    const askedAt = askedAtOf(input, now);
    const goneSinceAsked = (serviceId: number, connectionId: number) => (this.goneUntracked.get(connectionIndexOf(serviceId, connectionId)) ?? -Infinity) >= askedAt;
    // Indexed once: a restore of many connections looks each backend up instead of scanning a copy of the list.
    const byId = new Map(services.map((s) => [s.id, { service: s, backends: backendsByAddress(s), records: [] as ConnRecord[] }]));
    for (const conn of connections) {
      if (this.goneUntracked.size && goneSinceAsked(conn.serviceId, conn.connectionId)) continue;
      const found = byId.get(conn.serviceId);
      const backend = found?.backends.get(backendAtText(conn.backend.ip, conn.backend.port));
      if (!found || !backend) {
        msgs.push(buildDeleteConnection(conn.serviceId, conn.connectionId));
        continue;
      }
      const { service } = found;
      // Written out, not spread from the key: an object spread per connection was most of a large restore's time.
      const key = connKeyFromText(service.proto, conn.client.ip, conn.client.port, conn.vip.ip, conn.vip.port);
      const record: ConnRecord = {
        proto: key.proto, clientIp: key.clientIp, clientPort: key.clientPort, vip: key.vip, vipPort: key.vipPort,
        backendId: backend.config.name, softwarePort: conn.backend.port,
        state: service.proto === IP_PROTO_TCP ? 'active' : 'inactive', created: now, lastSeen: now,
      };
      if (key.ip6) record.ip6 = key.ip6;
      found.records.push(record);
      // Past every id the switch holds, tracked or not: a new connection must not take a live flow pair's cookie.
      service.nextConnectionId = Math.max(service.nextConnectionId, conn.connectionId + 1) % (MAX_CONNECTION_ID + 1) || 1;
    }
    let restored = 0;
    for (const { service, records } of byId.values()) {
      if (records.length) restored += service.lb.connections.import(records, (id) => service.lb.backendById(id)).imported;
    }
    for (const cookie of orphans) {
      const parts = parseCookie(cookie);
      if (parts) msgs.push(buildDeleteConnection(parts.serviceId, parts.connectionId));
    }
    return { msgs, restored, orphans: orphans.length };
  }

  /**
   * Flow statistics of connection flows: packets/bytes per backend, and TCP connections whose flows show
   * them established count as active, as IPVS counts ESTABLISHED. Ends come by flow_removed, not here.
   */
  *apply(services: readonly ServiceState[], input: AccountingInput, now: number, entriesPerSlice: number): Generator<void, number, undefined> {
    if (input.source !== 'flow_stats') return 0;
    // Paired by a number made of the cookie's ids (connectionIndex), not by the bigint cookie: a poll reads two
    // flows per connection, and bigint keys cost a hash and allocations per lookup.
    const forward: FlowStats[] = [];
    const forwardIndex: number[] = [];
    const reverse = new Map<number, FlowStats>();
    for (const e of input.entries) {
      const index = connectionIndex(e.cookie);
      if (index < 0) continue;
      if (e.tableId === this.tables.FORWARD) {
        forward.push(e);
        forwardIndex.push(index);
      } else reverse.set(index, e);
    }
    const byId = new Map(services.map((s) => [s.id, s]));
    const perBackend = new Map<BackendState, { packets: number; bytes: number }>();
    for (let i = 0; i < forward.length; i++) {
      if (i > 0 && i % entriesPerSlice === 0) yield;
      const fwd = forward[i];
      const service = byId.get(serviceOfConnectionIndex(forwardIndex[i]));
      if (!service) continue;
      const key = this.shape.key(fwd, service.proto);
      const entry = key && service.lb.connections.lookup(key);
      if (!key || !entry) continue;
      const rev = reverse.get(forwardIndex[i]);
      service.lb.connections.touch(key, now);
      if (service.proto === IP_PROTO_TCP && !entry.established && this.shape.established(fwd, rev)) service.lb.connections.setState(key, 'active');
      // A UDP flow's outcome for the outlier detector: did its backend answer?
      if (service.proto === IP_PROTO_UDP && !entry.judged && this.shape.replied(fwd, rev)) service.lb.connections.markReplied(key);
      const state = service.backends.get(entry.backend.id);
      if (state) {
        const acc = perBackend.get(state) ?? { packets: 0, bytes: 0 };
        acc.packets += Number(fwd.packetCount) + Number(rev?.packetCount ?? 0n);
        acc.bytes += Number(fwd.byteCount) + Number(rev?.byteCount ?? 0n);
        perBackend.set(state, acc);
      }
    }
    for (const service of services) {
      for (const state of service.backends.values()) {
        const acc = perBackend.get(state);
        // Counters of live connections; finished connections' counts were added on flow_removed.
        state.packets = state.closedPackets + (acc?.packets ?? 0);
        state.bytes = state.closedBytes + (acc?.bytes ?? 0);
      }
    }
    return 0;
  }

  /**
   * A connection ends when its forward flow goes (idle timeout, delete), or (flows mode) when its reverse flow
   * idles out after the backend's FIN or RST cut its idle timeout to fin_timeout. A reverse half that idles out
   * at its full idle timeout (one-way traffic) is left to the forward flow's lifetime.
   */
  flowRemoved(services: readonly ServiceState[], msg: FlowRemoved, now: number): OfpMessage[] {
    const parts = parseCookie(msg.cookie);
    if (parts?.kind !== 'connection') return [];
    const service = services.find((s) => s.id === parts.serviceId);
    if (!service) return [];
    // The forward half's removal (the delete by cookie) then closes the connection as any other end.
    if (msg.tableId !== this.tables.FORWARD) return this.shape.endedByOtherHalf(service, msg) ? [buildDeleteConnection(service.id, parts.connectionId)] : [];
    const key = this.shape.key(msg, service.proto);
    const entry = key && service.lb.connections.lookup(key);
    if (key && entry) {
      const state = service.backends.get(entry.backend.id);
      if (state) {
        state.closedPackets += Number(msg.packetCount);
        state.closedBytes += Number(msg.byteCount);
      }
      service.lb.close(key, now);
    } else this.rememberGone(connectionIndexOf(parts.serviceId, parts.connectionId), now);
    return this.shape.afterRemoved(service, parts.connectionId, msg);
  }

  /** A connection's flow went while it was not tracked (goneUntracked); what is older than the keep time goes. */
  private rememberGone(index: number, now: number): void {
    this.goneUntracked.delete(index);
    this.goneUntracked.set(index, now);
    for (const [old, at] of this.goneUntracked) {
      if (at > now - GONE_UNTRACKED_KEEP_MS) break;
      this.goneUntracked.delete(old);
    }
  }
}

function oxmValue(match: readonly Oxm[], field: string): unknown {
  for (const oxm of match) if (oxm.field === field && oxm.field !== 'raw') return oxm.value;
  return undefined;
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

function connKey(proto: number, src: unknown, dst: unknown, sport: unknown, dport: unknown): ConnKey | undefined {
  const [s, d, sp, dp] = [text(src), text(dst), num(sport), num(dport)];
  if (s === undefined || d === undefined || sp === undefined || dp === undefined) return undefined;
  return connKeyFromText(proto, s, sp, d, dp);
}

const portFields = (proto: number) => (proto === IP_PROTO_TCP ? ['tcp_src', 'tcp_dst'] : ['udp_src', 'udp_dst']);

/** Flows mode: a connection is its forward/reverse NAT flow pair. */
export const FLOW_PAIR_SHAPE: ConnectionFlowShape = {
  read: (entries, t) => readConnectionFlows(entries, t),
  key: (flow, proto) => {
    const [sport, dport] = portFields(proto);
    const client = oxmValue(flow.match, 'ipv4_src') ?? oxmValue(flow.match, 'ipv6_src');
    const vip = oxmValue(flow.match, 'ipv4_dst') ?? oxmValue(flow.match, 'ipv6_dst');
    return connKey(proto, client, vip, oxmValue(flow.match, sport), oxmValue(flow.match, dport));
  },
  canTellReplies: true,
  replied: (_fwd, rev) => rev !== undefined && rev.packetCount > 0n,
  // The reply half carried packets and the client sent more than its SYN.
  established: (fwd, rev) => rev !== undefined && rev.packetCount > 0n && fwd.packetCount > 1n,
  // Deleting the pair by its cookie takes the reverse half too; a flow removed by a delete needs nothing more.
  afterRemoved: (service, connectionId, msg) => (msg.reason === OFPRR_DELETE ? [] : [buildDeleteConnection(service.id, connectionId)]),
  // Only fin_timeout lowers a flow's idle timeout (OVS reports the lowered one): the backend closed or reset it.
  endedByOtherHalf: (service, msg) => msg.reason === OFPRR_IDLE_TIMEOUT && msg.idleTimeout < service.config.idle_timeout,
};

/**
 * Conntrack mode with `accounting: flows`: one accounting flow per connection, matching it after NAT
 * (client -> backend) plus the original VIP:port (ct_nw_dst/ct_tp_dst).
 */
export const CT_ACCOUNTING_FLOW_SHAPE: ConnectionFlowShape = {
  read: (entries) => {
    const connections: ConnectionSpec[] = [];
    const orphans: bigint[] = [];
    for (const flow of entries) {
      if (parseCookie(flow.cookie)?.kind !== 'connection') continue;
      const conn = ctConnectionFromFlow(flow);
      if (conn) connections.push(conn);
      else orphans.push(flow.cookie);
    }
    return { connections, orphans };
  },
  key: (flow, proto) => {
    const [sport] = portFields(proto);
    // An IPv6 connection's flow carries ipv6_src and ct_ipv6_dst instead (src/flows/conntrack.ts).
    const client = oxmValue(flow.match, 'ipv4_src') ?? oxmValue(flow.match, 'ipv6_src');
    const vip = oxmValue(flow.match, 'ct_nw_dst') ?? oxmValue(flow.match, 'ct_ipv6_dst');
    return connKey(proto, client, vip, oxmValue(flow.match, sport), oxmValue(flow.match, 'ct_tp_dst'));
  },
  canTellReplies: false,
  replied: () => undefined,
  // The accounting flow sees only established (post-handshake) packets.
  established: (fwd) => fwd.packetCount > 0n,
  afterRemoved: () => [],
  endedByOtherHalf: () => false,
};
