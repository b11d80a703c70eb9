// VMs that join by tag (a service's `backends_from`): which OVS interfaces are backends of which service, as a
// pure function of the services and OVSDB's Interface rows. The daemon serves the result each time it changes,
// so a VM whose interface carries the tag joins when the interface appears and leaves when it goes, with no
// config edit.
import { isIPv4, isIPv6 } from 'node:net';
import type { BackendConfig, ServiceConfig } from '../config';
import { vipHolding, vipPrefixesOf, type VipPrefix } from '../config';
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
function addressFrom(text: string, ipv6: boolean, vipKey: 'VIP' | 'vip6'): { ip: string; problem?: undefined } | { ip?: undefined; problem: string } {
  const ip = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
  if (ipv6 ? !isIPv6(ip) || ip.includes('%') : !isIPv4(ip)) {
    return { problem: `is not an ${ipv6 ? 'IPv6' : 'IPv4'} address (the service's ${vipKey} is ${ipv6 ? 'IPv6' : 'IPv4'})` };
  }
  const reason = notUnicastReason(ip);
  if (reason) return { problem: `is not a unicast host address: ${reason}` };
  return { ip: ipv6 ? parsePrefix(ip).address : ip };
}

function carriesTag(iface: InterfaceRow, tag: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(tag)) if (iface.externalIds[key] !== value) return false;
  return true;
}

/** Fixed addresses by selector (a `mac:` one lower-cased, as selectorsOf writes it). */
function fixedAddresses(ips: Readonly<Record<string, string>>): Map<string, string> {
  return new Map(Object.entries(ips).map(([selector, ip]) => [selector.startsWith('mac:') ? selector.toLowerCase() : selector, ip]));
}

/** Where a tagged VM's address of one family comes from: backends_from's key and fixed addresses for it. */
interface AddressSource {
  /** The external_ids key (ip_key, or a dual-stack service's ip6_key). */
  key: string;
  fixed: ReadonlyMap<string, string>;
  /** How the config names the fixed ones, and the VIP the address serves. */
  fixedName: 'ips' | 'ips6';
  vipKey: 'VIP' | 'vip6';
  ipv6: boolean;
}

/**
 * A tagged interface's address of one family: its own external_ids[key], else the fixed one for one of its
 * `selectors`; a problem when it has none or gives one that cannot serve.
 */
function taggedAddress(iface: InterfaceRow, selectors: readonly string[], from: AddressSource): { ip: string; problem?: undefined } | { ip?: undefined; problem: string } {
  const own = iface.externalIds[from.key];
  const parsed = own !== undefined ? addressFrom(own, from.ipv6, from.vipKey) : undefined;
  if (parsed?.problem !== undefined) return { problem: `external_ids:${from.key}=${JSON.stringify(own)} ${parsed.problem}` };
  const ip = parsed?.ip ?? selectors.map((s) => from.fixed.get(s)).find((found) => found !== undefined);
  if (ip === undefined) {
    const what = from.vipKey === 'vip6' ? 'IPv6 address' : 'address';
    return { problem: `carries the tag but no ${what}: no external_ids:${from.key}, and backends_from.${from.fixedName} has none of ${selectors.join(', ')}` };
  }
  return { ip };
}

/**
 * One service's tagged backends. Interfaces are taken in name order (a stable answer when the tag reaches more
 * than max_backends); an interface that shares its selector with an earlier one (the same VM's port on two
 * interfaces mid-migration) is the same backend, which the vNIC resolver places. A dual-stack service's backend
 * needs both addresses: its IPv4 one (ip_key, ips) and its IPv6 one (ip6_key, default `ip6`, and ips6).
 */
export function taggedBackendsOf(
  service: ServiceConfig, interfaces: Iterable<InterfaceRow>, vips: { all: readonly VipPrefix[]; own: number } = { all: vipPrefixesOf([service]), own: 0 },
): { backends: TaggedBackend[]; problems: TagProblem[] } {
  const from = service.backends_from;
  if (!from) return { backends: [], problems: [] };
  const problems: TagProblem[] = [];
  const problem = (iface: InterfaceRow, message: string) => problems.push({ service: service.name, iface: iface.name, message });
  const source: AddressSource = { key: from.ip_key, fixed: fixedAddresses(from.ips), fixedName: 'ips', vipKey: 'VIP', ipv6: service.vip.includes(':') };
  const source6: AddressSource | undefined = service.vip6 === undefined ? undefined
    : { key: from.ip6_key ?? 'ip6', fixed: fixedAddresses(from.ips6 ?? {}), fixedName: 'ips6', vipKey: 'vip6', ipv6: true };
  const configuredNames = new Set(service.backends.map((b) => b.name));
  const configuredVnics = new Set(service.backends.map((b) => b.vnic));
  const ipOwner = new Map<string, string>(service.backends.flatMap((b) => [b.ip, ...(b.ip6 !== undefined ? [b.ip6] : [])].map((ip) => [ip, `the configured backend ${b.name}`] as const)));
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
    const address = taggedAddress(iface, selectors, source);
    const address6 = source6 && taggedAddress(iface, selectors, source6);
    const unusable = address.problem ?? address6?.problem;
    if (unusable !== undefined) {
      problem(iface, unusable);
      continue;
    }
    const ip = address.ip!;
    const ip6 = address6?.ip;
    if ((!service.vip.includes('/') && ip === service.vip) || (ip6 !== undefined && ip6 === service.vip6)) {
      problem(iface, `its address ${ip6 !== undefined && ip6 === service.vip6 ? ip6 : ip} is the service's VIP`);
      continue;
    }
    // Another service's VIP, or inside a VIP prefix (any service's): vadc answers ARP/ND for it, so it is unreachable.
    const held = [ip, ...(ip6 !== undefined ? [ip6] : [])].map((a) => ({ a, holder: vipHolding(a, vips.all, vips.own) })).find((h) => h.holder);
    if (held) {
      problem(iface, `its address ${held.a} ${held.holder!.text}: vadc answers ARP and neighbor solicitations for every address of a VIP, so it could not be reached`);
      continue;
    }
    const owned = [ip, ...(ip6 !== undefined ? [ip6] : [])].find((a) => ipOwner.has(a));
    if (owned !== undefined) {
      problem(iface, `its address ${owned} is already ${ipOwner.get(owned)}'s`);
      continue;
    }
    if (backends.length >= from.max_backends) {
      problem(iface, `left out: backends_from.max_backends (${from.max_backends}) tagged backends are already in the service`);
      continue;
    }
    taken.add(selector);
    ipOwner.set(ip, `the tagged backend ${selector}`);
    if (ip6 !== undefined) ipOwner.set(ip6, `the tagged backend ${selector}`);
    backends.push({
      name: selector, vnic: selector, ip, ...(ip6 !== undefined ? { ip6 } : {}), ports: from.ports, weight: from.weight, u_threshold: 0, l_threshold: 0, tier: 0,
      iface: iface.name, ...(from.tags ? { tags: from.tags } : {}),
    });
  }
  backends.sort((a, b) => a.name.localeCompare(b.name));
  return { backends, problems };
}

/** Every service with its tagged backends added (services without backends_from are returned as they are). */
export function withTaggedBackends(services: readonly ServiceConfig[], interfaces: readonly InterfaceRow[]): TaggedServices {
  const tagged = new Map<string, TaggedBackend[]>();
  const problems: TagProblem[] = [];
  const vips = vipPrefixesOf(services);
  const out = services.map((service, own) => {
    if (!service.backends_from) return service;
    const found = taggedBackendsOf(service, interfaces, { all: vips, own });
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
    // A new address (either family's) is a backend that left and one that joined.
    const same = (a: TaggedBackend, b: TaggedBackend) => a.ip === b.ip && a.ip6 === b.ip6;
    const joined = [...is.values()].filter((b) => !was.has(b.name) || !same(was.get(b.name)!, b));
    const left = [...was.values()].filter((b) => !is.has(b.name) || !same(is.get(b.name)!, b));
    if (joined.length || left.length) changes.push({ service, joined, left });
  }
  return changes;
}
