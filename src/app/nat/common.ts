// Pieces both NAT modes use.
import { connectionsOfService } from '../../flows/cookies';
import type { VadcTables } from '../../flows/pipeline';
import { OFPFC_DELETE, OFPG_ANY, OFPP_ANY, OFP_NO_BUFFER } from '../../openflow/constants';
import type { FlowMod } from '../../openflow/types';
import type { TransportHeader } from '../../flows/packets';
import type { Backend } from '../../lb/backend';
import { formatIpv6, formatIpv6Words, uint32ToIpv4 } from '../../net';

/**
 * Deletes every connection flow of one backend of a service: forward flows by out_port, reverse ones (flows
 * mode only) by in_port. The selector takes connection flows only, never a conntrack-mode backend flow.
 */
export function deleteBackendConnectionFlows(serviceId: number, ofport: number, withReverse: boolean, t: VadcTables): FlowMod[] {
  const { cookie, cookieMask } = connectionsOfService(serviceId);
  const base: FlowMod = {
    type: 'flow_mod', xid: 0, cookie, cookieMask, tableId: t.FORWARD, command: OFPFC_DELETE, idleTimeout: 0, hardTimeout: 0,
    priority: 0, bufferId: OFP_NO_BUFFER, outPort: ofport, outGroup: OFPG_ANY, flags: 0, match: [], instructions: [],
  };
  return withReverse ? [base, { ...base, tableId: t.REVERSE, outPort: OFPP_ANY, match: [{ field: 'in_port', value: ofport }] }] : [base];
}

/** A packet header's client (source) and VIP (destination) addresses as text: RFC 5952 for an IPv6 packet. */
export function headerAddresses(h: Readonly<TransportHeader>): { client: string; vip: string } {
  return h.ip6 === undefined
    ? { client: uint32ToIpv4(h.src), vip: uint32ToIpv4(h.dst) }
    : { client: formatIpv6Words(h.ip6, 0), vip: formatIpv6Words(h.ip6, 4) };
}

/** A scheduler member's address as text (its IPv6 address when it has one: a member of an IPv6 service). */
export function backendAddress(b: Backend): string {
  return b.ip6 === undefined ? uint32ToIpv4(b.ip) : formatIpv6(b.ip6);
}
