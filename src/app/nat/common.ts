// Pieces both NAT modes use.
import { buildDeleteConnectionFlows } from '../../flows/builders';
import type { VadcTables } from '../../flows/pipeline';
import { OFPP_ANY } from '../../openflow/constants';
import type { FlowMod } from '../../openflow/types';
import type { TransportHeader } from '../../flows/packets';
import type { Backend } from '../../lb/backend';
import { formatIpv6, formatIpv6Destination, formatIpv6Source, ipv4ToUint32, uint32ToIpv4 } from '../../net';
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
    : { client: formatIpv6Source(h.ip6), vip: formatIpv6Destination(h.ip6) };
}

/**
 * A scheduler member's address as text, of the connection's family: `v6` by default when the member has only an
 * IPv6 address (a member of an IPv6 service); a dual-stack service's member has both.
 */
export function backendAddress(b: Backend, v6 = b.ip6 !== undefined && b.ip === 0): string {
  return v6 ? formatIpv6(b.ip6!) : uint32ToIpv4(b.ip);
}

/** A configured backend's address for a connection of the given family (a dual-stack backend's ip6 for IPv6). */
export function configuredAddress(config: BackendState['config'], v6: boolean): string {
  return v6 && config.ip6 !== undefined ? config.ip6 : config.ip;
}

/** A new connection's backend address as text: of the first packet's family. */
export function connectionBackendIp(c: { backend: BackendState; header: Readonly<TransportHeader> }): string {
  return configuredAddress(c.backend.config, c.header.ip6 !== undefined);
}

/** Every address the backend has (a dual-stack one's ip and ip6). */
export function addressesOf(config: BackendState['config']): string[] {
  return config.ip6 === undefined ? [config.ip] : [config.ip, config.ip6];
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
    for (const ip of addressesOf(backend.config)) {
      for (const port of backend.config.ports) {
        const at = backendAtText(ip, port);
        if (!index.has(at)) index.set(at, backend);
      }
    }
  }
  return index;
}
