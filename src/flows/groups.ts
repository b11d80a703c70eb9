/**
 * Datapath decisions (a service's `decisions: datapath`, conntrack NAT mode): OVS spreads the service's new
 * connections itself, with no packet-in, as OVN's load balancers do.
 *
 *   table 1   +trk+new, not yet translated, VIP:port/proto  -> group G(service)               (DECISION)
 *   group G   select; one bucket per backend software port, weighted:
 *             ct(commit, zone, table=1, exec(move:in_port[0..15]->ct_mark[0..15], load:service->ct_mark[16..31]),
 *                nat(dst=backend IP:port))   (IPv6: nat(dst=[addr]:port), the decision flow on ipv6_dst)
 *   table 1   +dnat, mark=service, dst=backend IP           -> backend MAC, vNIC              (BACKEND, as before)
 *
 * A dual-stack service has two groups with the same buckets' weights, one per VIP: G(service) with the backends' IPv4
 * addresses for `vip`, G6(service) (VADC_GROUPS.ipv6Base) with their IPv6 ones for `vip6`, each with its decision flow.
 *
 * The bucket commits the connection exactly as vadc's commit packet-out does (same zone, same mark: service id
 * in the high half, the client's port in the low half for the reply flow of table 3) and sends the packet back
 * to table 1, where it is now +dnat and the backend flow takes it. OpenFlow 1.3 groups are weighted only: OVS
 * hashes each connection's 5-tuple (dp_hash) to a bucket in proportion to the weights; hash fields of one's
 * choice (OVS's selection_method=hash property) need OpenFlow 1.5, which vadc does not speak.
 *
 * Builders only; pure.
 */
import {
  OFPG_ANY, OFPGC_ADD, OFPGC_DELETE, OFPGC_MODIFY, OFPGT_ALL, OFPGT_SELECT, OFPP_ANY, OFPFC_ADD, OFPFC_DELETE_STRICT, OFP_NO_BUFFER,
} from '../openflow/constants';
import type { Action, Bucket, FlowMod, GroupMod } from '../openflow/types';
import { buildDeleteFlowsOfKind, FlowBuildError, type L4Protocol } from './builders';
import { allFlowsOfKind, makeCookie } from './cookies';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, IP_PROTO_TCP, IP_PROTO_UDP } from './packets';
import { CT_STATE, PRIORITY, TABLE, VADC_GROUPS, type VadcTables } from './pipeline';

const NX_CT_F_COMMIT = 1;
const NX_NAT_F_DST = 2;
const IP_PROTO: Record<L4Protocol, number> = { tcp: IP_PROTO_TCP, udp: IP_PROTO_UDP };
const DST_PORT_FIELD = { tcp: 'tcp_dst', udp: 'udp_dst' } as const;

/**
 * The select group of a service (ids in vadc's own range, so a switch's other groups are never touched); `dualStackIpv6`:
 * a dual-stack service's second group, for its IPv6 VIP.
 */
export function serviceGroupId(serviceId: number, dualStackIpv6 = false): number {
  if (!(Number.isInteger(serviceId) && serviceId >= 1 && serviceId <= 0xffff)) throw new FlowBuildError(`service id ${serviceId} has no group id (1..65535)`);
  return (dualStackIpv6 ? VADC_GROUPS.ipv6Base : VADC_GROUPS.base) + serviceId;
}

/** Whether `groupId` is in vadc's own range (a service's group, either family's): a group vadc may have made. */
export function isVadcGroupId(groupId: number): boolean {
  return [VADC_GROUPS.base, VADC_GROUPS.ipv6Base].some((base) => groupId > base && groupId <= base + VADC_GROUPS.maxServiceId);
}

/** The group id's service id and family, when the id is vadc's (isVadcGroupId); undefined otherwise. */
export function vadcGroupOf(groupId: number): { serviceId: number; dualStackIpv6: boolean } | undefined {
  if (!isVadcGroupId(groupId)) return undefined;
  const dualStackIpv6 = groupId > VADC_GROUPS.ipv6Base;
  return { serviceId: groupId - (dualStackIpv6 ? VADC_GROUPS.ipv6Base : VADC_GROUPS.base), dualStackIpv6 };
}

export interface DecisionBucket {
  ip: string;
  port: number;
  /** 1..65535: the share of new connections this backend software port gets. */
  weight: number;
}

export interface ServiceGroupSpec {
  serviceId: number;
  /** A dual-stack service's group for its IPv6 VIP (serviceGroupId). */
  dualStackIpv6?: boolean;
  zone: number;
  buckets: readonly DecisionBucket[];
}

/** One bucket: commit with the backend's DNAT and the connection's mark, back to table 1. */
function bucket(s: ServiceGroupSpec, b: DecisionBucket, t: VadcTables): Bucket {
  if (!(Number.isInteger(b.weight) && b.weight >= 1 && b.weight <= 0xffff)) throw new FlowBuildError(`bucket weight ${b.weight} is outside 1..65535`);
  const commit: Action = {
    type: 'nx_ct', flags: NX_CT_F_COMMIT, zoneSrc: 0, zoneOfsNbits: s.zone, recircTable: t.FORWARD, alg: 0,
    actions: [
      // The client's switch port (the reply flow of table 3 outputs to it), then the service id: connectionMark().
      { type: 'nx_reg_move', nBits: 16, srcOfs: 0, dstOfs: 0, srcField: 'in_port', dstField: 'ct_mark' },
      { type: 'nx_reg_load', ofsNbits: (16 << 6) | 15, dst: 'ct_mark', value: BigInt(s.serviceId) },
      b.ip.includes(':')
        ? { type: 'nx_nat', flags: NX_NAT_F_DST, rangeIpv6Min: b.ip, rangeProtoMin: b.port }
        : { type: 'nx_nat', flags: NX_NAT_F_DST, rangeIpv4Min: b.ip, rangeProtoMin: b.port },
    ],
  };
  return { weight: b.weight, watchPort: OFPP_ANY, watchGroup: OFPG_ANY, actions: [commit] };
}

/** Adds (or, with `modify`, replaces the buckets of) a service's select group. */
export function buildServiceGroup(s: ServiceGroupSpec, modify: boolean, t: VadcTables = TABLE): GroupMod {
  if (s.buckets.length === 0) throw new FlowBuildError(`service ${s.serviceId}'s group needs at least one bucket (remove the group instead)`);
  return {
    type: 'group_mod', xid: 0, command: modify ? OFPGC_MODIFY : OFPGC_ADD, groupType: OFPGT_SELECT,
    groupId: serviceGroupId(s.serviceId, s.dualStackIpv6), buckets: s.buckets.map((b) => bucket(s, b, t)),
  };
}

/** Removes a service's group (OpenFlow removes the flows that point to it with it; no error if it is absent). The type is ignored on delete (0, as ovs-ofctl del-groups sends). */
export function buildDeleteServiceGroup(serviceId: number, dualStackIpv6 = false): GroupMod {
  return { type: 'group_mod', xid: 0, command: OFPGC_DELETE, groupType: OFPGT_ALL, groupId: serviceGroupId(serviceId, dualStackIpv6), buckets: [] };
}

export interface DecisionFlowSpec {
  serviceId: number;
  protocol: L4Protocol;
  /** The VIP (a host address: datapath decisions use no destination-keyed scheduler). */
  vip: string;
  port: number;
  /** A dual-stack service's decision flow for its IPv6 VIP: to its second group (serviceGroupId). */
  dualStackIpv6?: boolean;
}

const NEW_UNTRANSLATED = {
  field: 'ct_state', value: CT_STATE.TRK | CT_STATE.NEW,
  mask: CT_STATE.TRK | CT_STATE.NEW | CT_STATE.EST | CT_STATE.RPL | CT_STATE.INV | CT_STATE.DNAT,
} as const;

/** Table 1: a service's new connection the tracker has not translated yet goes to its group, not to the controller. */
export function buildDecisionFlow(s: DecisionFlowSpec, t: VadcTables = TABLE): FlowMod {
  const v6 = s.vip.includes(':');
  return {
    type: 'flow_mod', xid: 0, cookie: makeCookie('decision', s.serviceId), cookieMask: 0n, tableId: t.FORWARD, command: OFPFC_ADD,
    idleTimeout: 0, hardTimeout: 0, priority: PRIORITY.DECISION.min, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0,
    match: [
      NEW_UNTRANSLATED, { field: 'eth_type', value: v6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4 }, { field: 'ip_proto', value: IP_PROTO[s.protocol] },
      { field: v6 ? 'ipv6_dst' : 'ipv4_dst', value: s.vip }, { field: DST_PORT_FIELD[s.protocol], value: s.port },
    ],
    instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: serviceGroupId(s.serviceId, s.dualStackIpv6) }] }],
  };
}

/** Removes exactly the flow buildDecisionFlow(s) added. */
export function buildDeleteDecisionFlow(s: DecisionFlowSpec, t: VadcTables = TABLE): FlowMod {
  const selector = allFlowsOfKind('decision');
  return { ...buildDecisionFlow(s, t), command: OFPFC_DELETE_STRICT, cookie: selector.cookie, cookieMask: selector.cookieMask, instructions: [] };
}

/**
 * Removes every decision flow vadc has on the switch, whatever its service, VIP or table (by the cookie's kind; no
 * other flow carries it): what a switch gets on connect, before the decision flows the configuration wants (a restart
 * with a service that no longer decides in the datapath, or is gone, must not leave its flow sending connections to
 * its old group).
 */
export function buildDeleteAllDecisionFlows(): FlowMod {
  return buildDeleteFlowsOfKind('decision');
}
