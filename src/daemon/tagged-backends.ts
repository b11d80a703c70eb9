// VMs that join by tag (a service's `backends_from`): which OVS interfaces are backends of which service, as a
// pure function of the services and OVSDB's Interface rows. The daemon serves the result each time it changes,
// so a VM whose interface carries the tag joins when the interface appears and leaves when it goes, with no
// config edit.
import { isIPv4, isIPv6 } from 'node:net';
import type { BackendConfig, ServiceConfig } from '../config';
import { isMac, notUnicastReason, parsePrefix } from '../net';
import { VM_ID_KEYS, type InterfaceRow } from '../ovsdb';

/** What backends may be called (as the config's backend names): the selector names the backend when it fits. */
const BACKEND_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** An interface that carries a service's tag but cannot be its backend, and why. */
export interface TagProblem {
  service: string;
  /** The OVS interface name. */
  iface: string;
  message: string;
}

export interface TaggedBackend extends BackendConfig {
  /** The interface it was found on (its name may change when the VM restarts; the backend's vnic does not). */
  iface: string;
}

export interface TaggedServices {
  /** The services, each with backends_from's backends after its configured ones. */
  services: ServiceConfig[];
  /** service name -> the backends its tag found, by name. */
  tagged: Map<string, TaggedBackend[]>;
  problems: TagProblem[];
}

/**
 * The vNIC selector that follows an interface across a VM's restart: its port id (external_ids:iface-id, set
 * by OpenStack/OVN and libvirt), else the VM's MAC (attached-mac), else, for an interface with neither, its name.
 */
export function stableSelector(iface: InterfaceRow): string {
  const ifaceId = iface.externalIds['iface-id'];
  if (ifaceId) return `iface-id:${ifaceId}`;
  const mac = iface.externalIds['attached-mac'];
  if (mac && isMac(mac)) return `mac:${mac.toLowerCase()}`;
  return iface.name;
}

/** Every selector that names this interface, most specific first: what `backends_from.ips` may be keyed by. */
export function selectorsOf(iface: InterfaceRow): string[] {
  const ids = iface.externalIds;
  const out: string[] = [];
  if (ids['iface-id']) out.push(`iface-id:${ids['iface-id']}`);
  const mac = ids['attached-mac'] ?? iface.macInUse;
  if (mac && isMac(mac)) out.push(`mac:${mac.toLowerCase()}`);
  for (const key of VM_ID_KEYS) if (ids[key]) out.push(`${key}:${ids[key]}`);
  out.push(iface.name);
  return out;
}

/**
 * A VM's address as external_ids gives it, of the service's family (vadc does not translate between families): an
 * address, or one with its prefix length (`10.0.0.5/24`, `fd00::5/64`). IPv6 comes back in RFC 5952 form, as the
 * config writes addresses, so one address is one text.
 */
function addressFrom(text: string, ipv6: boolean): { ip: string; problem?: undefined } | { ip?: undefined; problem: string } {
  const ip = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
  if (ipv6 ? !isIPv6(ip) || ip.includes('%') : !isIPv4(ip)) {
    return { problem: `is not an ${ipv6 ? 'IPv6' : 'IPv4'} address (the service's VIP is ${ipv6 ? 'IPv6' : 'IPv4'})` };
  }
  const reason = notUnicastReason(ip);
  if (reason) return { problem: `is not a unicast host address: ${reason}` };
  return { ip: ipv6 ? parsePrefix(ip).address : ip };
}

function carriesTag(iface: InterfaceRow, tag: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(tag)) if (iface.externalIds[key] !== value) return false;
  return true;
}

/**
 * One service's tagged backends. Interfaces are taken in name order (a stable answer when the tag reaches more
 * than max_backends); an interface that shares its selector with an earlier one (the same VM's port on two
 * interfaces mid-migration) is the same backend, which the vNIC resolver places.
 */
export function taggedBackendsOf(service: ServiceConfig, interfaces: Iterable<InterfaceRow>): { backends: TaggedBackend[]; problems: TagProblem[] } {
  const from = service.backends_from;
  if (!from) return { backends: [], problems: [] };
  const problems: TagProblem[] = [];
  const problem = (iface: InterfaceRow, message: string) => problems.push({ service: service.name, iface: iface.name, message });
  const fixedIps = new Map(Object.entries(from.ips).map(([selector, ip]) => [selector.startsWith('mac:') ? selector.toLowerCase() : selector, ip]));
  const configuredNames = new Set(service.backends.map((b) => b.name));
  const configuredVnics = new Set(service.backends.map((b) => b.vnic));
  const ipOwner = new Map<string, string>(service.backends.map((b) => [b.ip, `the configured backend ${b.name}`]));
  const taken = new Set<string>();
  const backends: TaggedBackend[] = [];

  const candidates = [...interfaces].filter((iface) => carriesTag(iface, from.external_ids)).sort((a, b) => a.name.localeCompare(b.name));
  for (const iface of candidates) {
    const selector = stableSelector(iface);
    const selectors = selectorsOf(iface);
    // Configured explicitly as well: the configured backend is the one that serves.
    if (configuredNames.has(selector) || selectors.some((s) => configuredVnics.has(s)) || taken.has(selector)) continue;
    if (!BACKEND_NAME.test(selector)) {
      problem(iface, `${JSON.stringify(selector)} cannot name a backend (1..64 of A-Z a-z 0-9 _ . : -)`);
      continue;
    }
    const own = iface.externalIds[from.ip_key];
    const parsed = own !== undefined ? addressFrom(own, service.vip.includes(':')) : undefined;
    if (parsed?.problem !== undefined) {
      problem(iface, `external_ids:${from.ip_key}=${JSON.stringify(own)} ${parsed.problem}`);
      continue;
    }
    const ip = parsed?.ip ?? selectors.map((s) => fixedIps.get(s)).find((found) => found !== undefined);
    if (ip === undefined) {
      problem(iface, `carries the tag but no address: no external_ids:${from.ip_key}, and backends_from.ips has none of ${selectors.join(', ')}`);
      continue;
    }
    if (!service.vip.includes('/') && ip === service.vip) {
      problem(iface, `its address ${ip} is the service's VIP`);
      continue;
    }
    const owner = ipOwner.get(ip);
    if (owner !== undefined) {
      problem(iface, `its address ${ip} is already ${owner}'s`);
      continue;
    }
    if (backends.length >= from.max_backends) {
      problem(iface, `left out: backends_from.max_backends (${from.max_backends}) tagged backends are already in the service`);
      continue;
    }
    taken.add(selector);
    ipOwner.set(ip, `the tagged backend ${selector}`);
    backends.push({
      name: selector, vnic: selector, ip, ports: from.ports, weight: from.weight, u_threshold: 0, l_threshold: 0, tier: 0, iface: iface.name,
      ...(from.tags ? { tags: from.tags } : {}),
    });
  }
  backends.sort((a, b) => a.name.localeCompare(b.name));
  return { backends, problems };
}

/** Every service with its tagged backends added (services without backends_from are returned as they are). */
export function withTaggedBackends(services: readonly ServiceConfig[], interfaces: readonly InterfaceRow[]): TaggedServices {
  const tagged = new Map<string, TaggedBackend[]>();
  const problems: TagProblem[] = [];
  const out = services.map((service) => {
    if (!service.backends_from) return service;
    const found = taggedBackendsOf(service, interfaces);
    tagged.set(service.name, found.backends);
    problems.push(...found.problems);
    // The backend config carries no trace of the interface: its name may change while the backend stays the same.
    return { ...service, backends: [...service.backends, ...found.backends.map(({ iface: _iface, ...b }) => b)] };
  });
  return { services: out, tagged, problems };
}

/** The backends that joined and left between two answers, per service: what the daemon reports. */
export function taggedChanges(
  before: ReadonlyMap<string, readonly TaggedBackend[]>, after: ReadonlyMap<string, readonly TaggedBackend[]>,
): { service: string; joined: TaggedBackend[]; left: TaggedBackend[] }[] {
  const changes: { service: string; joined: TaggedBackend[]; left: TaggedBackend[] }[] = [];
  for (const service of new Set([...before.keys(), ...after.keys()])) {
    const was = new Map((before.get(service) ?? []).map((b) => [b.name, b]));
    const is = new Map((after.get(service) ?? []).map((b) => [b.name, b]));
    const joined = [...is.values()].filter((b) => !was.has(b.name) || was.get(b.name)!.ip !== b.ip);
    const left = [...was.values()].filter((b) => !is.has(b.name) || is.get(b.name)!.ip !== b.ip);
    if (joined.length || left.length) changes.push({ service, joined, left });
  }
  return changes;
}
