/**
 * vadc's conntrack zone timeout policy (conntrack NAT mode), written where ovs-vswitchd reads it:
 * Open_vSwitch.datapaths[type] -> Datapath.ct_zones[zone] -> CT_Zone.timeout_policy -> CT_Timeout_Policy
 * (what `ovs-vsctl add-zone-tp TYPE zone=Z tcp_time_wait=2 ...` does).
 *
 * Why: a closed connection stays in the tracker in TIME_WAIT (measured: minutes in the userspace datapath);
 * a client that reuses its source port meets the old entry, the tracker moves the NATed reply to another
 * port or drops the SYN, and connections fail under churn. Short close-state timeouts for vadc's own zone
 * fix that without touching other zones.
 *
 * planZonePolicy is pure (what to write, given what is there); ensureZoneTimeoutPolicy reads and writes.
 *
 * OVS 3.3.9 hands a zone's policy to the datapath only when the policy changes on a zone ovs-vswitchd already holds
 * (vswitchd/bridge.c ct_zones_reconfigure: a zone new to it, as after a restart or when created with its policy in
 * one transaction like `ovs-vsctl add-zone-tp`, is allocated with the policy, which then never "changes"): its
 * ct(commit) actions carry no `timeout=` and closed connections stay 30 s (docs/benchmarks.md, dpp19). So vadc first
 * leaves the zone without a policy and waits until ovs-vswitchd has applied that, then gives it the policy.
 */
import type { OvsdbClient } from './client';
import { asMap, asSet, condition, mutation, namedUuid, Uuid, type Atom, type Row } from './notation';
import { op, type Operation } from './operations';

/** The timeout keys OVS's CT_Timeout_Policy accepts (vswitch.ovsschema). */
export const CT_TIMEOUT_KEYS = [
  'tcp_syn_sent', 'tcp_syn_recv', 'tcp_established', 'tcp_fin_wait', 'tcp_close_wait', 'tcp_last_ack', 'tcp_time_wait', 'tcp_close',
  'tcp_syn_sent2', 'tcp_retransmit', 'tcp_unack', 'udp_first', 'udp_single', 'udp_multiple', 'icmp_first', 'icmp_reply',
] as const;
export type CtTimeoutKey = (typeof CT_TIMEOUT_KEYS)[number];

/** What the database holds for one datapath type, as far as the policy is concerned. */
export interface ZonePolicyState {
  rootUuid: string;
  /** The Datapath row of this type, if any. */
  datapath?: { uuid: string; zones: Map<number, string> };
  /** The zone's CT_Zone row, if any, and its policy row. */
  zone?: { uuid: string; policyUuid?: string; timeouts: Map<string, number> };
}

function sameTimeouts(a: Map<string, number>, b: Readonly<Record<string, number>>): boolean {
  const keys = Object.keys(b);
  return a.size === keys.length && keys.every((k) => a.get(k) === b[k]);
}

/** The operations that make `zone` of datapath `type` carry exactly `timeouts`; [] when it already does. */
export function planZonePolicy(state: ZonePolicyState, type: string, zone: number, timeouts: Readonly<Record<string, number>>): Operation[] {
  const policyRow: Row = { timeouts: new Map<Atom, Atom>(Object.entries(timeouts)), external_ids: new Map<Atom, Atom>([['vadc', 'true']]) };
  if (state.zone?.policyUuid) {
    if (sameTimeouts(state.zone.timeouts, timeouts)) return [];
    return [op.update('CT_Timeout_Policy', [condition('_uuid', '==', new Uuid(state.zone.policyUuid))], policyRow)];
  }
  const ops: Operation[] = [op.insert('CT_Timeout_Policy', policyRow, 'policy')];
  if (state.zone) {
    ops.push(op.update('CT_Zone', [condition('_uuid', '==', new Uuid(state.zone.uuid))], { timeout_policy: namedUuid('policy') }));
    return ops;
  }
  ops.push(op.insert('CT_Zone', { timeout_policy: namedUuid('policy') }, 'zone'), ...linkNewZone(state, type, zone));
  return ops;
}

/** After an insert of CT_Zone named 'zone': the operations that put it in datapath `type`'s ct_zones (the Datapath made if missing). */
function linkNewZone(state: ZonePolicyState, type: string, zone: number): Operation[] {
  if (state.datapath) {
    return [op.mutate('Datapath', [condition('_uuid', '==', new Uuid(state.datapath.uuid))], [
      mutation('ct_zones', 'insert', new Map<Atom, Atom>([[zone, namedUuid('zone')]])),
    ])];
  }
  return [
    op.insert('Datapath', { datapath_version: '0', ct_zones: new Map<Atom, Atom>([[zone, namedUuid('zone')]]) }, 'dp'),
    op.mutate('Open_vSwitch', [condition('_uuid', '==', new Uuid(state.rootUuid))], [mutation('datapaths', 'insert', new Map<Atom, Atom>([[type, namedUuid('dp')]]))]),
  ];
}

/** The operations that make `zone` of datapath `type` exist and hold no policy (the first of ensure's two steps); [] when it does. */
export function planZoneWithoutPolicy(state: ZonePolicyState, type: string, zone: number): Operation[] {
  if (state.zone) return state.zone.policyUuid ? [op.update('CT_Zone', [condition('_uuid', '==', new Uuid(state.zone.uuid))], { timeout_policy: [] })] : [];
  return [op.insert('CT_Zone', {}, 'zone'), ...linkNewZone(state, type, zone)];
}

/** How long ensure waits for ovs-vswitchd to apply the zone without its policy (cur_cfg), ms; then it goes on. */
export const VSWITCHD_APPLY_WAIT_MS = 3000;
const APPLY_POLL_MS = 50;

const uuidText = (a: unknown): string | undefined => (a instanceof Uuid ? a.value : undefined);

/**
 * Writes `ops` with Open_vSwitch.next_cfg counted up, and waits until ovs-vswitchd reports that configuration applied
 * (cur_cfg), at most `waitMs`. False when it did not within it (no ovs-vswitchd serving this database).
 */
async function writeAndAwaitVswitchd(client: OvsdbClient, rootUuid: string, ops: Operation[], waitMs: number): Promise<boolean> {
  const root = [condition('_uuid', '==', new Uuid(rootUuid))];
  const results = await client.transact('Open_vSwitch', [...ops, op.mutate('Open_vSwitch', root, [mutation('next_cfg', '+=', 1)]), op.select('Open_vSwitch', root, ['next_cfg'])]);
  const target = results[results.length - 1].rows?.[0]?.next_cfg;
  if (typeof target !== 'number') return false;
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, APPLY_POLL_MS))) {
    const cur = (await client.transact('Open_vSwitch', [op.select('Open_vSwitch', root, ['cur_cfg'])]))[0].rows?.[0]?.cur_cfg;
    if (typeof cur === 'number' && cur >= target) return true;
  }
  return false;
}

async function readState(client: OvsdbClient, type: string, zone: number): Promise<ZonePolicyState> {
  const [root] = (await client.transact('Open_vSwitch', [op.select('Open_vSwitch', [], ['_uuid', 'datapaths'])]))[0].rows ?? [];
  const rootUuid = uuidText(root?._uuid);
  if (!rootUuid) throw new Error('the Open_vSwitch table has no row');
  const dpUuid = uuidText(asMap(root.datapaths).get(type));
  if (!dpUuid) return { rootUuid };
  const [dp] = (await client.transact('Open_vSwitch', [op.select('Datapath', [condition('_uuid', '==', new Uuid(dpUuid))], ['ct_zones'])]))[0].rows ?? [];
  const zones = new Map<number, string>();
  for (const [k, v] of asMap(dp?.ct_zones)) if (typeof k === 'number' && uuidText(v)) zones.set(k, uuidText(v)!);
  const state: ZonePolicyState = { rootUuid, datapath: { uuid: dpUuid, zones } };
  const zoneUuid = zones.get(zone);
  if (!zoneUuid) return state;
  const [zoneRow] = (await client.transact('Open_vSwitch', [op.select('CT_Zone', [condition('_uuid', '==', new Uuid(zoneUuid))], ['timeout_policy'])]))[0].rows ?? [];
  const policyUuid = uuidText(asSet(zoneRow?.timeout_policy)[0]);
  const timeouts = new Map<string, number>();
  if (policyUuid) {
    const [policy] = (await client.transact('Open_vSwitch', [op.select('CT_Timeout_Policy', [condition('_uuid', '==', new Uuid(policyUuid))], ['timeouts'])]))[0].rows ?? [];
    for (const [k, v] of asMap(policy?.timeouts)) if (typeof k === 'string' && typeof v === 'number') timeouts.set(k, v);
  }
  state.zone = { uuid: zoneUuid, ...(policyUuid ? { policyUuid } : {}), timeouts };
  return state;
}

/**
 * Makes vadc's zone carry `timeouts` on every datapath type in use (the bridges' datapath_type; '' is
 * "system"), in two steps each time (the file's comment: the zone without a policy, applied, then the policy), so
 * that ovs-vswitchd applies it whether or not the database held it already. Returns the types whose database rows
 * it changed, and those where ovs-vswitchd did not confirm the first step within `waitMs` (the policy was written
 * all the same). Throws the server's error (e.g. a schema without CT_Zone).
 */
export async function ensureZoneTimeoutPolicy(
  client: OvsdbClient, zone: number, timeouts: Readonly<Record<string, number>>, waitMs = VSWITCHD_APPLY_WAIT_MS,
): Promise<{ changed: string[]; unconfirmed: string[] }> {
  const bridges = (await client.transact('Open_vSwitch', [op.select('Bridge', [], ['datapath_type'])]))[0].rows ?? [];
  const types = [...new Set(bridges.map((b) => (typeof b.datapath_type === 'string' && b.datapath_type !== '' ? b.datapath_type : 'system')))];
  const changed: string[] = [];
  const unconfirmed: string[] = [];
  for (const type of types.sort()) {
    const before = await readState(client, type, zone);
    if (planZonePolicy(before, type, zone, timeouts).length > 0) changed.push(type);
    if (!(await writeAndAwaitVswitchd(client, before.rootUuid, planZoneWithoutPolicy(before, type, zone), waitMs))) unconfirmed.push(type);
    await client.transact('Open_vSwitch', planZonePolicy(await readState(client, type, zone), type, zone, timeouts));
  }
  return { changed, unconfirmed };
}
