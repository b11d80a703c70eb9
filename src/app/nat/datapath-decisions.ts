// Datapath decisions (a service's `decisions: datapath`, conntrack mode only): each such service gets, on every
// switch where backends of it are located, an OVS select group whose buckets commit a new connection to one
// backend software port, and a table-1 flow that sends the service's new connections to it (src/flows/groups.ts).
// This keeps both in line with the backends that take new connections (location, health, tier, drain) and
// their weights: a group-mod only when the buckets change (feedback: when a weight moved by more than the hysteresis).
// A dual-stack service has a group and a decision flow per VIP, with the same members and weights: the backends'
// addresses of the VIP's family.
import {
  buildDecisionFlow, buildDeleteDecisionFlow, buildDeleteServiceGroup, buildServiceGroup, serviceGroupId, vadcGroupOf, type DecisionBucket, type DecisionFlowSpec,
} from '../../flows/groups';
import type { GroupMod } from '../../openflow/types';
import { forOvsHashTable } from '../../flows/hash-slots';
import type { VadcTables } from '../../flows/pipeline';
import { outOfFamily, type Backend } from '../../lb/backend';
import { FeedbackScheduler } from '../../lb/schedulers/feedback';
import type { Outbox } from '../outbox';
import { backendAddress } from './common';
import { bucketTimes } from './feedback-times';
import type { ServiceState } from '../services';

/** Bucket weights are 16-bit; a backend's weight is shared by its software ports (the controller's rr/wrr pick the backend, then a port). */
const MAX_BUCKET_WEIGHT = 0xffff;
/** Shares per unit of backend weight before scaling down: divisible by 1..6 ports, so shares stay exact there. */
const SHARES_PER_WEIGHT = 60;
/** feedback: the largest bucket gets this weight, the others in proportion. */
const FEEDBACK_SCALE = 1000;
/** feedback: a group-mod only when some bucket's weight moved by more than this fraction (or the buckets changed). */
export const FEEDBACK_HYSTERESIS = 0.1;
/** feedback: a backend whose port drops packets gets this part of its share until it stops. */
const DROPPING_FACTOR = 0.5;

/**
 * A backend's share of new connections. rr: each alike; wrr: its weight; feedback: its weight divided by the time
 * one connection spends on it (bucketTimes: Little's law over its open and completed connections, equal members
 * alike; a slow VM gets proportionally fewer), halved while its port drops, or its weight alone while any backend has
 * no estimate yet or none completed a connection (as the controller's feedback scheduler falls back to weights).
 */
function shares(service: ServiceState, members: readonly Backend[]): number[] {
  const scheduler = service.lb.scheduler;
  if (service.config.scheduler === 'rr') return members.map(() => 1);
  if (!(scheduler instanceof FeedbackScheduler)) return members.map((b) => b.weight);
  const estimates = members.map((b) => scheduler.estimate(b.id));
  if (estimates.some((e) => e === undefined)) return members.map((b) => b.weight);
  const times = bucketTimes(estimates.map((e) => e!));
  if (!times) return members.map((b) => b.weight);
  return members.map((b, i) => (b.weight / times[i]) * (estimates[i]!.dropping ? DROPPING_FACTOR : 1));
}

/**
 * The buckets a service's group has on one switch: every backend software port that takes new connections and is
 * located there (a port out of rotation, by its check or the outlier detector, has none), weighted by the
 * backend's share (above), split evenly over its serving ports. `dualStackIpv6`: a dual-stack service's IPv6 group
 * (the backends' `ip6`; else their one address, or their IPv4 one). Each family's group takes the ports serving that
 * family: a dual-stack backend whose IPv6 check fails stays in the IPv4 group only.
 */
export function decisionBuckets(service: ServiceState, dpid: bigint, dualStackIpv6 = false): DecisionBucket[] {
  const members = service.lb.backends.filter((b) => b.eligibleFor(dualStackIpv6) && service.backends.get(b.id)?.location?.dpid === dpid);
  if (members.length === 0) return [];
  const out = outOfFamily(dualStackIpv6);
  const serving = members.map((b) => b.ports.filter((_, i) => (b.portOut[i] & out) === 0));
  const perPort = shares(service, members).map((share, i) => share / serving[i].length);
  const largest = Math.max(...perPort);
  const scale = service.config.scheduler === 'feedback' ? FEEDBACK_SCALE / largest : Math.min(SHARES_PER_WEIGHT, MAX_BUCKET_WEIGHT / largest);
  return members.flatMap((b, i) => serving[i].map((port) => ({
    ip: dualStackIpv6 ? backendAddress(b, true) : backendAddress(b), port, weight: Math.max(1, Math.round(perPort[i] * scale)),
  })));
}

/** Whether `next` is close enough to what is installed to skip a group-mod (feedback's hysteresis). */
function withinHysteresis(installed: readonly DecisionBucket[], next: readonly DecisionBucket[]): boolean {
  return installed.length === next.length && installed.every((b, i) => {
    const n = next[i];
    return n.ip === b.ip && n.port === b.port && Math.abs(n.weight - b.weight) <= FEEDBACK_HYSTERESIS * b.weight;
  });
}

interface InstalledGroup {
  dpid: bigint;
  flow: DecisionFlowSpec;
  /** The buckets as installed (what a change is compared with). */
  buckets: DecisionBucket[];
  /** False after the service's flows were deleted (its group stays until sync removes or re-adds it). */
  flowInstalled: boolean;
}

export class DatapathDecisions {
  /** What is installed, by "dpid/serviceId" (a dual-stack service's IPv6 group: "dpid/serviceId/6"). */
  private readonly installed = new Map<string, InstalledGroup>();

  constructor(private readonly zone: number, private readonly tables: VadcTables) {}

  sync(services: readonly ServiceState[], switches: ReadonlySet<bigint>, out: Outbox): void {
    const wanted = new Map<string, { dpid: bigint; flow: DecisionFlowSpec; buckets: DecisionBucket[]; hysteresis: boolean }>();
    for (const service of services) {
      if (service.config.decisions !== 'datapath') continue;
      const base = { serviceId: service.id, protocol: service.l4, port: service.config.port };
      const flows: DecisionFlowSpec[] = [{ ...base, vip: service.vip.address }];
      if (service.config.vip6 !== undefined) flows.push({ ...base, vip: service.config.vip6, dualStackIpv6: true });
      for (const dpid of switches) {
        for (const flow of flows) {
          const buckets = decisionBuckets(service, dpid, flow.dualStackIpv6);
          const key = `${dpid}/${service.id}${flow.dualStackIpv6 ? '/6' : ''}`;
          if (buckets.length > 0) wanted.set(key, { dpid, flow, buckets, hysteresis: service.config.scheduler === 'feedback' });
        }
      }
    }
    for (const [key, have] of this.installed) {
      const want = wanted.get(key);
      if (want && JSON.stringify(want.flow) === JSON.stringify(have.flow)) continue;
      // No backend takes new connections here (they reach vadc, which refuses them), or the VIP:port changed.
      if (switches.has(have.dpid)) out.to(have.dpid, [buildDeleteDecisionFlow(have.flow, this.tables), buildDeleteServiceGroup(have.flow.serviceId, have.flow.dualStackIpv6)]);
      this.installed.delete(key);
    }
    for (const [key, want] of wanted) {
      const have = this.installed.get(key);
      // Compared unsplit (feedback's hysteresis); installed as buckets OVS maps onto 256 hash values (hash-slots.ts).
      const spec = { serviceId: want.flow.serviceId, dualStackIpv6: want.flow.dualStackIpv6, zone: this.zone, buckets: forOvsHashTable(want.buckets) };
      if (!have) {
        // A group left from before a reconnect or restart would make the add fail: delete first (no error if absent).
        out.to(want.dpid, [
          buildDeleteServiceGroup(want.flow.serviceId, want.flow.dualStackIpv6), buildServiceGroup(spec, false, this.tables), buildDecisionFlow(want.flow, this.tables),
        ]);
        this.installed.set(key, { dpid: want.dpid, flow: want.flow, buckets: want.buckets, flowInstalled: true });
        continue;
      }
      const same = want.hysteresis ? withinHysteresis(have.buckets, want.buckets) : JSON.stringify(have.buckets) === JSON.stringify(want.buckets);
      if (!same) {
        out.to(want.dpid, [buildServiceGroup(spec, true, this.tables)]);
        have.buckets = want.buckets;
      }
      if (!have.flowInstalled) {
        out.to(want.dpid, [buildDecisionFlow(want.flow, this.tables)]);
        have.flowInstalled = true;
      }
    }
  }

  /**
   * The groups read from switch `dpid` (its group ids): a delete for each of vadc's (its id range) that nothing here
   * installed, an earlier run's (a service gone, or no longer deciding in the datapath). Foreign groups stay.
   */
  strayGroups(dpid: bigint, groupIds: readonly number[]): GroupMod[] {
    const ours = new Set<number>();
    for (const have of this.installed.values()) if (have.dpid === dpid) ours.add(serviceGroupId(have.flow.serviceId, have.flow.dualStackIpv6));
    return strayGroupDeletes(groupIds, ours);
  }

  forgetSwitch(dpid: bigint): void {
    for (const [key, have] of this.installed) if (have.dpid === dpid) this.installed.delete(key);
  }

  /** The service's flows were deleted (its decision flow with them); its group is still there. */
  forgetService(serviceId: number): void {
    for (const have of this.installed.values()) if (have.flow.serviceId === serviceId) have.flowInstalled = false;
  }
}

/** A delete for each of `groupIds` that is vadc's (its id range) and not in `keep`. */
export function strayGroupDeletes(groupIds: readonly number[], keep: ReadonlySet<number> = new Set()): GroupMod[] {
  const deletes: GroupMod[] = [];
  for (const id of groupIds) {
    const group = vadcGroupOf(id);
    if (group && !keep.has(id)) deletes.push(buildDeleteServiceGroup(group.serviceId, group.dualStackIpv6));
  }
  return deletes;
}
