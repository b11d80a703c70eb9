// Reading connections back from their flows (flows mode's restore, src/app/nat/flow-accounting.ts): the inverse of
// buildConnectionFlows (./builders.ts). Runs on a reading of the switch's connection flows, never per packet.
import type { FlowStats, Oxm } from '../openflow/types';
import { DST_PORT_FIELD, SRC_PORT_FIELD, type ConnectionSpec, type L4Protocol } from './builders';
import { connectionIndex, connectionOfConnectionIndex, serviceOfConnectionIndex } from './cookies';
import { IP_PROTO_TCP, IP_PROTO_UDP } from './packets';
import { TABLE, type VadcTables } from './pipeline';

/**
 * Rebuilds connections from flow stats (the inverse of buildConnectionFlows): pairs forward and reverse
 * flows by cookie. Returns the connections found and the cookies of half-present pairs (to delete).
 */
export function readConnectionFlows(entries: readonly FlowStats[], t: VadcTables = TABLE): { connections: ConnectionSpec[]; orphans: bigint[] } {
  // Paired by a number made of the cookie's ids, not by the bigint cookie (a restore reads 2 flows per connection).
  const forwards = new Map<number, FlowStats>();
  const reverses = new Map<number, FlowStats>();
  const strays = new Map<number, bigint>();
  const orphans: bigint[] = [];
  for (const entry of entries) {
    const index = connectionIndex(entry.cookie);
    if (index < 0) continue;
    if (entry.tableId === t.FORWARD) forwards.set(index, entry);
    else if (entry.tableId === t.REVERSE) reverses.set(index, entry);
    // A connection's cookie in another table: not a half of a pair; deleted unless its pair is whole.
    else strays.set(index, entry.cookie);
  }
  const connections: ConnectionSpec[] = [];
  for (const [index, forward] of forwards) {
    const reverse = reverses.get(index);
    const conn = reverse ? connectionFromPair(index, forward, reverse) : null;
    if (conn) connections.push(conn);
    else orphans.push(forward.cookie);
  }
  for (const [index, reverse] of reverses) if (!forwards.has(index)) orphans.push(reverse.cookie);
  for (const [index, cookie] of strays) if (!forwards.has(index) && !reverses.has(index)) orphans.push(cookie);
  return { connections, orphans };
}

function connectionFromPair(index: number, forward: FlowStats, reverse: FlowStats): ConnectionSpec | null {
  const fm = matchValues(forward.match);
  const fa = appliedActions(forward);
  const ra = appliedActions(reverse);
  const proto: L4Protocol | undefined = fm.ip_proto === IP_PROTO_TCP ? 'tcp' : fm.ip_proto === IP_PROTO_UDP ? 'udp' : undefined;
  if (!proto) return null;
  const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const conn: ConnectionSpec = {
    serviceId: serviceOfConnectionIndex(index), connectionId: connectionOfConnectionIndex(index), protocol: proto, idleTimeout: forward.idleTimeout,
    client: { ofport: num(fm.in_port), mac: str(ra.sets.eth_dst), ip: str(fm.ipv4_src ?? fm.ipv6_src), port: num(fm[SRC_PORT_FIELD[proto]]) },
    vip: { mac: str(ra.sets.eth_src), ip: str(fm.ipv4_dst ?? fm.ipv6_dst), port: num(fm[DST_PORT_FIELD[proto]]) },
    backend: {
      ofport: fa.outPort, mac: str(fa.sets.eth_dst), ip: str(fa.sets.ipv4_dst ?? fa.sets.ipv6_dst), port: num(fa.sets[DST_PORT_FIELD[proto]]),
    },
  };
  // On the reverse flow; flows written before issue 15 carried it on the forward flow too.
  const finTimeout = ra.finTimeout ?? fa.finTimeout;
  if (finTimeout !== undefined) conn.finTimeout = finTimeout;
  const complete = Number.isFinite(conn.client.ofport) && Number.isFinite(conn.client.port) && Number.isFinite(conn.vip.port)
    && Number.isFinite(conn.backend.ofport) && Number.isFinite(conn.backend.port) && conn.client.mac !== '' && conn.client.ip !== ''
    && conn.vip.mac !== '' && conn.vip.ip !== '' && conn.backend.mac !== '' && conn.backend.ip !== '';
  return complete ? conn : null;
}

function matchValues(match: Oxm[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const oxm of match) if (oxm.field !== 'raw') out[oxm.field] = oxm.value;
  return out;
}

function appliedActions(flow: FlowStats): { sets: Record<string, unknown>; outPort: number; finTimeout?: number } {
  const sets: Record<string, unknown> = {};
  let outPort = NaN;
  let finTimeout: number | undefined;
  for (const instruction of flow.instructions) {
    if (instruction.type !== 'apply_actions') continue;
    for (const action of instruction.actions) {
      if (action.type === 'set_field' && action.field.field !== 'raw') sets[action.field.field] = action.field.value;
      else if (action.type === 'output') outPort = action.port;
      else if (action.type === 'nx_fin_timeout' && finTimeout === undefined) finTimeout = action.finIdleTimeout;
    }
  }
  return { sets, outPort, finTimeout };
}
