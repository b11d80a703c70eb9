/**
 * Connection-end copies (config `datapath.end_copies`): static per-service flows in table 0 that match a TCP
 * FIN or RST, from the client to the VIP or from a backend's service port, forward the packet exactly as the
 * flow they shadow would, and send a copy of its first bytes to the controller through one OpenFlow meter of
 * vadc's own (controller2's meter_id: the meter limits the copies alone, never the forwarding). vadc then
 * knows a connection closed within a packet-in's time, in both NAT modes, instead of at the flow's idle
 * timeout or the next tracker reading.
 *
 *   table 0  END_COPY (140 + prefix)  client FIN / RST to VIP:port -> copy, then as the service flow
 *   table 0  END_COPY6 (2600 + prefix) the same for an IPv6 VIP (above SERVICE6, as END_COPY is above SERVICE)
 *   table 0  REPLY_END_COPY (30)      backend IP:port FIN / RST    -> copy, then as the reply path (either family)
 *
 * Builders only; pure.
 */
import {
  OFPFC_ADD, OFPFC_DELETE_STRICT, OFPFF_SEND_FLOW_REM, OFPG_ANY, OFPMC_ADD, OFPMC_DELETE, OFPMF_BURST, OFPMF_PKTPS, OFPMF_STATS, OFPP_ANY, OFP_NO_BUFFER,
} from '../openflow/constants';
import type { Action, FlowMod, Instruction, MeterMod } from '../openflow/types';
import { allFlowsOfKind, exactCookie, makeCookie, sharedEndCopyCookie, type CookieMatch } from './cookies';
import { withEgressTag, type EgressTag } from './egress';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, IP_PROTO_TCP, TCP_FLAGS } from './packets';
import { PRIORITY, TABLE, type VadcTables } from './pipeline';

/** vadc's meter on every switch it drives (meter ids are per switch; this one is "adc"). */
export const END_COPY_METER_ID = 0xadc;
/** Bytes of each copy the switch sends: Ethernet, IPv4 or IPv6 (40 bytes) and TCP headers with options fit in 128. */
export const END_COPY_MAX_LEN = 128;

/**
 * The meter, replaced whole: delete (which takes the flows that use it with it; the caller adds them after)
 * then add, so a restarted vadc with another rate leaves no old meter behind. Burst a quarter of the rate, as
 * OVS's own controller_rate_limit does.
 */
export function buildEndCopyMeter(ratePerSecond: number): MeterMod[] {
  const base = { type: 'meter_mod' as const, xid: 0, meterId: END_COPY_METER_ID };
  return [
    { ...base, command: OFPMC_DELETE, flags: 0, bands: [] },
    {
      ...base, command: OFPMC_ADD, flags: OFPMF_PKTPS | OFPMF_BURST | OFPMF_STATS,
      bands: [{ type: 'drop', rate: ratePerSecond, burstSize: Math.max(1, Math.ceil(ratePerSecond / 4)) }],
    },
  ];
}

const copyAction = (): Action => ({ type: 'nx_controller2', maxLen: END_COPY_MAX_LEN, meterId: END_COPY_METER_ID });

/** The shadowed flow's instructions with the copy first: into its apply_actions, or as one before its goto. */
function withCopy(instructions: readonly Instruction[]): Instruction[] {
  // A meter (an egress-queued backend's reply path) stays first: OpenFlow runs it before any action.
  if (instructions[0]?.type === 'meter') return [instructions[0], ...withCopy(instructions.slice(1))];
  const [first, ...rest] = instructions;
  if (first?.type === 'apply_actions') return [{ type: 'apply_actions', actions: [copyAction(), ...first.actions] }, ...rest];
  return [{ type: 'apply_actions', actions: [copyAction()] }, ...instructions];
}

/** Which segments are copied: FIN and RST (a connection's end), or RST alone (a refusal or an abort). */
export type EndCopyKinds = 'fin-rst' | 'rst';

/**
 * Two flows shadowing a table-0 TCP flow (`base`): one for FIN, one for RST (a masked match tests bits for
 * equality, so "either" takes two), each doing what `base` does plus the copy. Same priority: a segment with
 * both flags matches both, and both do the same. `kinds` 'rst': the RST flow, and a strict delete of the FIN one
 * (its cookie pinned: a service whose earlier configuration copied FINs loses that flow; deleting a flow that is not
 * there is no error).
 */
export function buildEndCopyFlows(base: FlowMod, serviceId: number, priority: number, kinds: EndCopyKinds = 'fin-rst'): FlowMod[] {
  const cookie = makeCookie('end', serviceId);
  return shadowFlows(base, cookie, priority, kinds, exactCookie(cookie));
}

function shadowFlows(base: FlowMod, cookie: bigint, priority: number, kinds: EndCopyKinds, finGoneBy: CookieMatch): FlowMod[] {
  const shadow = (flag: number): FlowMod => ({
    ...base, cookie, priority, command: OFPFC_ADD, flags: base.flags & ~OFPFF_SEND_FLOW_REM,
    match: [...base.match, { field: 'tcp_flags', value: flag, mask: flag }],
    instructions: withCopy(base.instructions),
  });
  if (kinds === 'fin-rst') return [shadow(TCP_FLAGS.FIN), shadow(TCP_FLAGS.RST)];
  return [strictDelete(shadow(TCP_FLAGS.FIN), finGoneBy), shadow(TCP_FLAGS.RST)];
}

const strictDelete = (flow: FlowMod, by: CookieMatch): FlowMod => ({
  ...flow, command: OFPFC_DELETE_STRICT, ...by, idleTimeout: 0, hardTimeout: 0, flags: 0, outPort: OFPP_ANY, outGroup: OFPG_ANY, instructions: [],
});

/**
 * The client side: shadows the service's table-0 flow (SERVICE band + prefix length -> END_COPY band + the same;
 * an IPv6 service's SERVICE6 flow -> END_COPY6).
 */
export function buildClientEndCopies(serviceFlow: FlowMod, serviceId: number, kinds: EndCopyKinds = 'fin-rst'): FlowMod[] {
  const v6 = serviceFlow.priority >= PRIORITY.SERVICE6.min && serviceFlow.priority <= PRIORITY.SERVICE6.max;
  const [service, copy] = v6 ? [PRIORITY.SERVICE6, PRIORITY.END_COPY6] : [PRIORITY.SERVICE, PRIORITY.END_COPY];
  return buildEndCopyFlows(serviceFlow, serviceId, copy.min + (serviceFlow.priority - service.min), kinds);
}

/**
 * The backend side: shadows a backend address:port's reply-path flow (flows mode: a RETURN-like flow to vip-reverse;
 * conntrack mode: its ct reply flow). One per address:port, whatever services send there (sharedEndCopyCookie): their
 * flows would have one match and priority. `kinds` 'rst' deletes the FIN flow of any `end` cookie (an older vadc's
 * were its service's).
 */
export function buildBackendEndCopies(replyFlow: FlowMod, kinds: EndCopyKinds = 'fin-rst'): FlowMod[] {
  const { ip, port } = backendOfReplyFlow(replyFlow);
  return shadowFlows(replyFlow, sharedEndCopyCookie(ip, port), PRIORITY.REPLY_END_COPY.min, kinds, allFlowsOfKind('end'));
}

/** Removes both of buildBackendEndCopies(replyFlow)'s flows (strict: that address:port's, any `end` cookie). */
export function buildDeleteBackendEndCopies(replyFlow: FlowMod): FlowMod[] {
  return buildBackendEndCopies(replyFlow).map((f) => strictDelete(f, allFlowsOfKind('end')));
}

/** The backend address and port a reply-path flow matches (its source address and TCP source port). */
export function backendOfReplyFlow(replyFlow: FlowMod): { ip: string; port: number } {
  let ip: string | undefined;
  let port: number | undefined;
  for (const m of replyFlow.match) {
    if ((m.field === 'ipv4_src' || m.field === 'ipv6_src') && typeof m.value === 'string') ip = m.value;
    else if (m.field === 'tcp_src' && typeof m.value === 'number') port = m.value;
  }
  if (ip === undefined || port === undefined) throw new Error('a backend end copy needs a reply flow matching the backend\'s address and TCP port');
  return { ip, port };
}

/**
 * What flows mode does with a backend's packets from `ip:port` in table 0 (the RETURN flow, narrowed to that
 * address and port, with the backend's egress tag: the copies outrank its EGRESS flow, so they must queue and
 * police as it does), for the backend side's copies to shadow.
 */
export function buildBackendReturnBase(serviceId: number, ip: string, port: number, t: VadcTables = TABLE, tag?: EgressTag): FlowMod {
  const toReverse: Instruction[] = [{ type: 'goto_table', tableId: t.REVERSE }];
  return {
    type: 'flow_mod', xid: 0, cookie: makeCookie('end', serviceId), cookieMask: 0n, tableId: t.CLASSIFY, command: OFPFC_ADD,
    idleTimeout: 0, hardTimeout: 0, priority: PRIORITY.REPLY_END_COPY.min, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY,
    flags: 0,
    match: ip.includes(':')
      ? [{ field: 'eth_type', value: ETH_TYPE_IPV6 }, { field: 'ip_proto', value: IP_PROTO_TCP }, { field: 'ipv6_src', value: ip }, { field: 'tcp_src', value: port }]
      : [{ field: 'eth_type', value: ETH_TYPE_IPV4 }, { field: 'ip_proto', value: IP_PROTO_TCP }, { field: 'ipv4_src', value: ip }, { field: 'tcp_src', value: port }],
    instructions: tag ? withEgressTag(toReverse, tag) : toReverse,
  };
}
