// Pieces both NAT modes use.
import { buildDeleteConnectionFlows } from '../../flows/builders';
import type { VadcTables } from '../../flows/pipeline';
import { OFPP_ANY } from '../../openflow/constants';
import type { FlowMod } from '../../openflow/types';
import type { TransportHeader } from '../../flows/packets';
import type { Backend } from '../../lb/backend';
import { formatIpv6, formatIpv6Words, ipv4ToUint32, uint32ToIpv4 } from '../../net';
import type { BackendState, ServiceState } from '../services';

/**
 * Deletes every connection flow of one backend of a service: forward flows by out_port, reverse ones (flows
 * mode only) by in_port. The selector takes connection flows only, never a conntrack-mode backend flow.
 */
export function deleteBackendConnectionFlows(serviceId: number, ofport: number, withReverse: boolean, t: VadcTables): FlowMod[] {
  const forward = buildDeleteConnectionFlows(serviceId, t.FORWARD, ofport, []);
  return withReverse ? [forward, buildDeleteConnectionFlows(serviceId, t.REVERSE, OFPP_ANY, [{ field: 'in_port', value: ofport }])] : [forward];
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

/** A backend's address and software port as one map key: IPv4 as a number, IPv6 as text (RFC 5952, as configured). */
export type BackendAt = number | string;
export const backendAt = (ip: number | string, port: number): BackendAt => (typeof ip === 'number' ? ip * 65536 + port : `${ip}/${port}`);

/** An address as text (what flows and the configuration carry) in backendAt's form. */
export const backendAtText = (ip: string, port: number): BackendAt => backendAt(ip.includes(':') ? ip : ipv4ToUint32(ip), port);

/**
 * The service's backends by address and software port (the first configured wins, as a scan in order would find),
 * made once per reading: a restore of 100,000 looks each connection's backend up instead of scanning a copy.
 */
export function backendsByAddress(service: ServiceState): Map<BackendAt, BackendState> {
  const index = new Map<BackendAt, BackendState>();
  for (const backend of service.backends.values()) {
    for (const port of backend.config.ports) {
      const at = backendAtText(backend.config.ip, port);
      if (!index.has(at)) index.set(at, backend);
    }
  }
  return index;
}
