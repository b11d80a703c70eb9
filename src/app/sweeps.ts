// What an earlier run left on a switch that the configuration no longer wants, judged from the switch's readings after
// a connect or a takeover (the daemon's src/daemon/switch-hooks.ts reads them): the flows of services and of VIPs
// removed while vadc was away. Pure: the configured services and what was read in, the deletes out. (Stray groups
// and meters are judged by their owners: the NAT mode's strayGroups, the egress tagger's strayMeters.)
import { buildDeleteByCookie, buildDeleteService, configuredVipTag } from '../flows/builders';
import { parseCookie } from '../flows/cookies';
import type { FlowMod } from '../openflow/types';
import { vipsOf, type ServiceState } from './services';

/**
 * For each service id read from the switch's service flows (cookie kind `service`) that no configured service has:
 * one delete by the cookie's service bits, which takes every flow of that id (service, connection, backend, end copy,
 * decision). The services configured now keep theirs, their live connections' flows too. Sorted, one per id.
 */
export function strayServiceFlows(services: readonly ServiceState[], serviceIds: Iterable<number>): FlowMod[] {
  const configured = new Set(services.map((s) => s.id));
  const stray = [...new Set(serviceIds)].filter((id) => !configured.has(id)).sort((a, b) => a - b);
  return stray.map(buildDeleteService);
}

/**
 * For each cookie read from the switch's VIP flows (kind `vip`: ARP/ND and echo to the controller, the refusal of
 * the rest) whose VIP tag no configured VIP has: one delete of the flows with exactly that cookie. An earlier run's
 * VIP removed while vadc was away (its refusal flow would keep sending everything to that address to vadc, which
 * answers nothing for it), and an older vadc's VIP flows (tag 0) that the connect's flows did not replace. Judged
 * against the VIPs configured when the reading comes: the connect's batch, written before the read, has replaced the
 * configured VIPs' flows (same match and priority) with their tagged ones.
 */
export function strayVipFlows(services: readonly ServiceState[], cookies: Iterable<bigint>): FlowMod[] {
  const configured = new Set(services.flatMap((s) => vipsOf(s.config)).map(configuredVipTag));
  const stray = new Set<bigint>();
  for (const cookie of cookies) {
    const parts = parseCookie(cookie);
    if (parts?.kind === 'vip' && !configured.has(parts.connectionId)) stray.add(cookie);
  }
  return [...stray].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(buildDeleteByCookie);
}
