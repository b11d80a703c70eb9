import { isSingleAddress, overlaps, parsePrefix, type IpPrefix } from '../net';
import { formatEndpoint } from '../net/endpoint';
import { parseTarget } from './addresses';
import { apiListenerProblems } from './api-listener';
import type { ConfigIssue } from './errors';
import { checkPayloadRules } from './payload-rules';
import { DESTINATION_SCHEDULERS, MH_TABLE_SIZES, type BackendConfig, type SchedulerName, type ServiceConfig, type VadcConfig } from './schema';

/**
 * Rules that span several fields (zod checks one field at a time). Pure: returns every problem found,
 * each with the path of the field to fix.
 */
export function checkConfigRules(config: VadcConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });

  checkTransport(config, add);
  const namesSeen = new Map<string, number>();
  const idsSeen = new Map<number, number>();
  const listenersSeen = new Map<string, number>();
  const macOfVip = new Map<string, { mac: string; index: number }>();
  config.services.forEach((service, i) => {
    const at = `services[${i}]`;
    const firstNamed = namesSeen.get(service.name);
    if (firstNamed !== undefined) add(`${at}.name`, `duplicate service name "${service.name}" (also services[${firstNamed}])`);
    else namesSeen.set(service.name, i);
    if (service.id !== undefined) {
      const firstPinned = idsSeen.get(service.id);
      if (firstPinned !== undefined) add(`${at}.id`, `duplicate service id ${service.id} (also services[${firstPinned}]): every flow's cookie names its service by id`);
      else idsSeen.set(service.id, i);
    }

    for (const [key, vip] of vipsOf(service)) {
      const listenerKey = `${formatEndpoint(vip, service.port)}/${service.protocol}`;
      const firstListener = listenersSeen.get(listenerKey);
      if (firstListener !== undefined) add(`${at}.${key}`, `duplicate VIP ${listenerKey} (also services[${firstListener}])`);
      else listenersSeen.set(listenerKey, i);

      // One VIP answers ARP (neighbor solicitations) with one MAC, so every service on it must agree.
      const sameVip = macOfVip.get(vip);
      if (sameVip && sameVip.mac !== service.vip_mac) {
        add(`${at}.vip_mac`, `${service.vip_mac} differs from ${sameVip.mac} of services[${sameVip.index}] on the same VIP ${vip}`);
      } else if (!sameVip) macOfVip.set(vip, { mac: service.vip_mac, index: i });
    }

    checkService(service, at, add);
    if (service.decisions === 'datapath' && config.datapath.accounting === 'flows') {
      add(`${at}.decisions`, 'datapath decisions need datapath.accounting: conntrack: the switch opens their connections without a packet-in, '
        + 'so no per-connection accounting flow is ever installed and vadc would count none of them');
    }
  });
  checkQueues(config, add);
  checkBackendsOutsideVips(config, add);
  return issues;
}

/**
 * A backend's address must lie outside every VIP: vadc answers ARP and neighbor solicitations for each address of
 * a VIP (a prefix's too) with the VIP's MAC, and its table-0 flows take the packets to those addresses to the
 * service, so a backend there could never be reached. Fixed addresses only (`ip`, `ip6`, the sorry backend's and
 * backends_from's `ips`/`ips6`); a tagged VM's address from its external_ids is known at run time.
 */
function checkBackendsOutsideVips(config: VadcConfig, add: AddIssue): void {
  const vips = vipPrefixesOf(config.services);
  config.services.forEach((service, i) => {
    const check = (address: string, path: string) => {
      const inside = vipHolding(address, vips, i);
      if (inside) add(path, `${address} ${inside.text}: ${VIP_HOLDS_BACKEND}`);
    };
    for (const { address, at } of fixedAddressesOf(service)) check(address, `services[${i}].${at}`);
  });
}

/** One fixed backend address of a service: where it is written in the service (`backends[0].ip`), and what it is. */
export interface FixedAddress {
  address: string;
  at: string;
  what: string;
}

/**
 * A service's fixed backend addresses: each backend's and the sorry backend's `ip` and `ip6`, and backends_from's `ips`
 * and `ips6` (a tagged VM's address from its external_ids is known only at run time).
 */
export function fixedAddressesOf(service: ServiceConfig): FixedAddress[] {
  const members = [...service.backends.map((b, j) => [b, `backends[${j}]`] as const),
    ...(service.sorry_backend ? [[service.sorry_backend, 'sorry_backend'] as const] : [])];
  return [
    ...members.flatMap(([b, at]) => [{ address: b.ip, at: `${at}.ip`, what: `backend ${b.name}` },
      ...(b.ip6 !== undefined ? [{ address: b.ip6, at: `${at}.ip6`, what: `backend ${b.name}` }] : [])]),
    ...(['ips', 'ips6'] as const).flatMap((key) => Object.entries(service.backends_from?.[key] ?? {})
      .map(([selector, address]) => ({ address, at: `backends_from.${key}.${selector}`, what: `backends_from.${key}.${selector}` }))),
  ];
}

const VIP_HOLDS_BACKEND = 'vadc answers ARP and neighbor solicitations for every address of a VIP and takes their packets to the service, '
  + 'so this backend could not be reached; give it an address outside every VIP';

/** Every VIP of `services` (both of a dual-stack one's), parsed, with where it is written. */
export interface VipPrefix {
  prefix: IpPrefix;
  single: boolean;
  service: number;
  where: string;
}

export function vipPrefixesOf(
  services: readonly ServiceConfig[], where = (i: number, key: string, vip: string, name: string) => `services[${i}].${key} ${vip} (service ${name})`,
): VipPrefix[] {
  return services.flatMap((service, i) => vipsOf(service).map(([key, vip]) => {
    const prefix = parsePrefix(vip);
    return { prefix, single: isSingleAddress(prefix), service: i, where: where(i, key, vip, service.name) };
  }));
}

/**
 * The VIP that holds `address` ('is the VIP ...' / 'lies inside the VIP prefix ...'), or undefined. The single VIP of
 * service `own` is passed over: its own rules say "must differ from the VIP".
 */
export function vipHolding(address: string, vips: readonly VipPrefix[], own: number): { text: string } | undefined {
  const parsed = parsePrefix(address);
  const inside = vips.find((v) => overlaps(parsed, v.prefix) && !(v.single && v.service === own));
  return inside && { text: `${inside.single ? 'is the VIP' : 'lies inside the VIP prefix'} ${inside.where}` };
}

/** A service's backends and its sorry backend, each with the path it is written at. */
function membersOf(service: ServiceConfig, i: number): Array<readonly [BackendConfig, string]> {
  return [...service.backends.map((b, j) => [b, `services[${i}].backends[${j}]`] as const),
    ...(service.sorry_backend ? [[service.sorry_backend, `services[${i}].sorry_backend`] as const] : [])];
}

/**
 * A queue is the vNIC's, not the service's: every backend naming one vNIC must ask for the same queue, and a
 * queue needs the `egress` section (the port it lives on), no faster than that port.
 */
function checkQueues(config: VadcConfig, add: AddIssue): void {
  const byVnic = new Map<string, { path: string; text: string }>();
  const reported = new Set<string>();
  config.services.forEach((service, i) => {
    const members = membersOf(service, i);
    for (const [backend, backendAt] of members) {
      if (!backend.queue) continue;
      // A queue the backend has from its tier is reported where it was written.
      const fromTier = service.tier_queues?.[String(backend.tier)] === backend.queue;
      const at = fromTier ? `services[${i}].tier_queues.${backend.tier}` : backendAt;
      const queueAt = fromTier ? at : `${at}.queue`;
      if (!config.egress) {
        if (!reported.has(queueAt)) add(queueAt, 'needs the egress section: egress.port names the uplink port the queue lives on');
        reported.add(queueAt);
        continue;
      }
      const text = JSON.stringify(backend.queue);
      const first = byVnic.get(backend.vnic);
      if (first && first.text !== text) add(queueAt, `vNIC ${backend.vnic} already has another queue at ${first.path}: one queue per vNIC`);
      else if (!first) byVnic.set(backend.vnic, { path: queueAt, text });
      const portRate = config.egress.max_rate;
      if (portRate !== undefined && (backend.queue.min_rate ?? 0) > portRate && !reported.has(`${queueAt}.min_rate`)) {
        add(`${queueAt}.min_rate`, `expected at most egress.max_rate (${portRate} bit/s), got ${backend.queue.min_rate}`);
        reported.add(`${queueAt}.min_rate`);
      }
    }
  });
}

type AddIssue = (path: string, message: string) => void;

function checkTransport(config: VadcConfig, add: AddIssue): void {
  const listen = parseTarget(config.controller.listen, ['tcp', 'ssl']);
  if (!('error' in listen) && listen.kind === 'ssl' && !config.controller.ssl) {
    add('controller.ssl', 'required when controller.listen is ssl: (cert, key, ca)');
  }
  const ovsdb = parseTarget(config.ovsdb, ['unix', 'tcp', 'ssl']);
  if (!('error' in ovsdb) && ovsdb.kind === 'ssl' && !config.controller.ssl) {
    add('controller.ssl', 'required when ovsdb is ssl: (the same cert, key and ca are used)');
  }
  if (config.controller.ha.election === 'cluster' && !config.cluster) {
    add('controller.ha.election', 'cluster needs a cluster: section (the pair elects through the cluster store); use host or auto without one');
  }
  if (config.cluster && /(^|,)\s*ssl:/.test(config.cluster.remotes) && !config.controller.ssl) {
    add('controller.ssl', 'required when cluster.remotes has an ssl: remote (the same cert, key and ca are used)');
  }
  if (config.api) {
    const api = parseTarget(config.api.listen, ['unix', 'tcp', 'ssl']);
    if (!('error' in api)) {
      const facts = { kind: api.kind, where: config.api.listen, role: 'control' as const, token: config.api.token, hasTls: config.api.ssl !== undefined };
      for (const problem of apiListenerProblems(facts)) add(`api.${problem.setting}`, problem.message);
    }
  }
}

/** The rules of one service on its own (its backends, tiers, health, policies), each issue under `at`. */
export function checkServiceRules(service: ServiceConfig, at = ''): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  checkService(service, at, (path, message) => issues.push({ path: path.replace(/^\./, ''), message }));
  return issues;
}

/** Schedulers an OVS select group can carry out: by weights alone (OpenFlow 1.3 groups choose by weight). */
export const DATAPATH_SCHEDULERS: ReadonlyArray<SchedulerName> = ['rr', 'wrr', 'feedback'];

/** Why a scheduler cannot be left to the datapath. */
function notInDatapath(scheduler: SchedulerName): string {
  if (scheduler === 'sh' || scheduler === 'dh' || scheduler === 'mh') {
    return `${scheduler} hashes chosen header fields, which an OVS group does only with the selection_method property of OpenFlow 1.5 (vadc speaks 1.3)`;
  }
  return `${scheduler} counts each backend's connections at the moment it decides, which only the controller can`;
}

function checkDatapathDecisions(service: ServiceConfig, at: string, add: AddIssue): void {
  if (!DATAPATH_SCHEDULERS.includes(service.scheduler)) {
    add(`${at}.decisions`, `datapath decisions work with ${DATAPATH_SCHEDULERS.join(', ')}, not ${service.scheduler}: ${notInDatapath(service.scheduler)}; `
      + 'use one of those or decisions: controller');
  }
  if (service.persistence > 0) add(`${at}.persistence`, 'persistence needs decisions: controller (the datapath keeps no client templates)');
  const prefixKey = prefixVipKey(service);
  if (prefixKey !== undefined) {
    add(`${at}.decisions`, `datapath decisions need single-address VIPs, and ${prefixKey} ${service[prefixKey]} is a prefix: its connections are spread by `
      + 'destination (lblc, lblcr, dh), which an OpenFlow 1.3 select group cannot do (it hashes the whole 5-tuple); use decisions: controller');
  }
}

/**
 * Maglev gives each member at least one slot of its table, so the table must hold every backend the service can
 * have: the listed ones and, with backends_from, up to max_backends found by tag (else the scheduler would refuse
 * the member list at run time, when a tagged VM appears).
 */
function checkMaglevTable(service: ServiceConfig, at: string, add: AddIssue): void {
  const tagged = service.backends_from?.max_backends ?? 0;
  const most = service.backends.length + tagged;
  if (most <= service.mh_table_size) return;
  const what = tagged > 0 ? `${service.backends.length} backends + max_backends ${tagged}` : `${service.backends.length} backends`;
  const fits = MH_TABLE_SIZES.find((n) => n >= most);
  add(`${at}.mh_table_size`, `a Maglev table of ${service.mh_table_size} slots cannot hold ${what}: `
    + (fits !== undefined ? `use mh_table_size ${fits} or more` : 'use fewer backends'));
}

/** The service's VIPs with the key each is written under: `vip`, and a dual-stack service's `vip6`. */
function vipsOf(service: ServiceConfig): Array<['vip' | 'vip6', string]> {
  return service.vip6 === undefined ? [['vip', service.vip]] : [['vip', service.vip], ['vip6', service.vip6]];
}

/**
 * A dual-stack service (vip6): `vip` its IPv4 address or prefix, `vip6` its IPv6 one. Its tagged VMs (backends_from)
 * give both addresses: ip_key and ip6_key (ips and ips6).
 * Datapath decisions give it a select group per VIP (src/flows/groups.ts); its persistence prefix is per family
 * (persistence_prefix for IPv4 clients, persistence_prefix6 for IPv6 ones). Where two services' prefixes of one family
 * overlap on a port, the longest prefix wins, each family on its own (src/app/services.ts, the table-0 priorities).
 */
function checkDualStack(service: ServiceConfig, at: string, add: AddIssue): void {
  const vip6 = service.vip6!;
  if (familyOf(vip6) !== 'IPv6') {
    add(`${at}.vip6`, `expected an IPv6 address or prefix, got the IPv4 ${addressOrPrefix(vip6)}: a service has at most one VIP per family (the IPv4 one is vip)`);
  }
  if (familyOf(service.vip) !== 'IPv4') {
    add(`${at}.vip`, `a dual-stack service (with vip6) has its IPv4 address or prefix in vip, got the IPv6 ${addressOrPrefix(service.vip)}: `
      + 'a service has at most one VIP per family');
  }
}

/** 'address 10.0.0.1' or 'prefix 10.0.0.0/30', as a VIP is written. */
function addressOrPrefix(vip: string): string {
  return `${vip.includes('/') ? 'prefix' : 'address'} ${vip}`;
}

/** The key of the service's first VIP that is a prefix (vip, then a dual-stack service's vip6), or undefined. */
function prefixVipKey(service: ServiceConfig): 'vip' | 'vip6' | undefined {
  return vipsOf(service).find(([, vip]) => vip.includes('/'))?.[0];
}

function checkService(service: ServiceConfig, at: string, add: AddIssue): void {
  if (service.vip6 !== undefined) checkDualStack(service, at, add);
  const prefixKey = prefixVipKey(service);
  if (prefixKey !== undefined && !DESTINATION_SCHEDULERS.includes(service.scheduler)) {
    add(`${at}.${prefixKey}`, `a VIP prefix needs a destination-keyed scheduler (${DESTINATION_SCHEDULERS.join(', ')}), not ${service.scheduler}`);
  }
  service.scheduler_flags.forEach((flag, j) => {
    const family = flag.slice(0, 2);
    if (family !== service.scheduler) add(`${at}.scheduler_flags[${j}]`, `${flag} applies to the ${family} scheduler, not ${service.scheduler}`);
  });
  if (service.fin_timeout > 0 && service.protocol !== 'tcp') add(`${at}.fin_timeout`, 'only meaningful for tcp services');
  if (service.decisions === 'datapath') checkDatapathDecisions(service, at, add);
  if (service.persistence_prefix !== undefined) {
    if (familyOf(service.vip) === 'IPv4' && service.persistence_prefix > 32) {
      add(`${at}.persistence_prefix`, `${service.persistence_prefix} is longer than an IPv4 address (the VIP ${service.vip} is IPv4): 0..32`);
    }
    if (service.persistence === 0) add(`${at}.persistence_prefix`, 'only meaningful with persistence (seconds > 0)');
  }
  if (service.persistence_prefix6 !== undefined) {
    if (service.vip6 === undefined) {
      add(`${at}.persistence_prefix6`, 'only a dual-stack service (with vip6) takes persistence_prefix6; this service\'s clients\' prefix length is persistence_prefix');
    }
    if (service.persistence === 0) add(`${at}.persistence_prefix6`, 'only meaningful with persistence (seconds > 0)');
  }

  if (service.backends.length === 0 && !service.backends_from) {
    add(`${at}.backends`, 'expected at least one backend, or backends_from to find them by tag');
  }
  if (service.backends_from) checkBackendsFrom(service, at, add);
  if (service.scheduler === 'mh') checkMaglevTable(service, at, add);

  const backendNames = new Map<string, number>();
  service.backends.forEach((backend, j) => {
    const bat = `${at}.backends[${j}]`;
    const first = backendNames.get(backend.name);
    if (first !== undefined) add(`${bat}.name`, `duplicate backend "${backend.name}" (also backends[${first}]); give each a distinct name`);
    else backendNames.set(backend.name, j);
    checkBackend(backend, bat, service, add);
  });
  if (service.sorry_backend) {
    checkBackend(service.sorry_backend, `${at}.sorry_backend`, service, add);
    if (backendNames.has(service.sorry_backend.name)) {
      add(`${at}.sorry_backend.name`, `"${service.sorry_backend.name}" is also a tiered backend; the sorry backend must be a separate one`);
    }
  }

  checkTiers(service, at, add);

  checkHealth(service, at, add);
  checkPolicies(service, at, add);
  if (service.payload_rules) {
    checkPayloadRules(service.payload_rules, {
      protocol: service.protocol, decisions: service.decisions, vip: service.vip6 ?? service.vip, backends: service.backends.map((b) => b.name),
      sorryBackend: service.sorry_backend?.name, tagged: service.backends_from !== undefined,
      tags: new Set([...service.backends.flatMap((b) => b.tags ?? []), ...(service.backends_from?.tags ?? [])]),
    }, `${at}.payload_rules`, add);
  }
}

function checkHealth(service: ServiceConfig, at: string, add: AddIssue): void {
  const health = service.health;
  if (!health) return;
  if (health.timeout >= health.interval) add(`${at}.health.timeout`, `must be shorter than health.interval (${health.interval} s)`);
  if (health.type === 'http' || health.type === 'https') {
    if (health.expect_body !== undefined && health.expect_body_match !== undefined) add(`${at}.health.expect_body_match`, 'give expect_body or expect_body_match, not both');
    if (health.type === 'http' && health.tls_verify) add(`${at}.health.tls_verify`, 'only meaningful for https checks');
  }
  if (health.type === 'udp' && health.expect !== undefined && health.expect_match !== undefined) {
    add(`${at}.health.expect_match`, 'give expect or expect_match, not both');
  }
}

function checkPolicies(service: ServiceConfig, at: string, add: AddIssue): void {
  for (const key of ['conns_per_backend', 'queue_measure'] as const) {
    const band = service.failover?.[key];
    if (band && band.low > band.high) add(`${at}.failover.${key}.low`, `must not exceed high (${band.high})`);
  }
  for (const key of ['launch', 'relocate'] as const) {
    const hook = service[key];
    if (hook && hook.backoff_max < hook.backoff) add(`${at}.${key}.backoff_max`, `must be at least ${key}.backoff (${hook.backoff} s)`);
  }
}

function checkBackend(backend: BackendConfig, at: string, service: ServiceConfig, add: AddIssue): void {
  if (backend.ports.length === 0) add(`${at}.ports`, 'expected at least one software port; a backend with no ports cannot serve');
  const seen = new Set<number>();
  backend.ports.forEach((port, k) => {
    if (seen.has(port)) add(`${at}.ports[${k}]`, `duplicate port ${port}`);
    seen.add(port);
  });
  if (!service.vip.includes('/') && backend.ip === service.vip) add(`${at}.ip`, `must differ from the VIP ${service.vip}`);
  const vipFamily = familyOf(service.vip);
  if (familyOf(backend.ip) !== vipFamily) {
    add(`${at}.ip`, `${backend.ip} is an ${familyOf(backend.ip)} address in a service whose VIP ${service.vip} is ${vipFamily}: vadc does not `
      + `translate between address families; give this backend its ${vipFamily} address`
      + (service.vip6 === undefined ? ' (dual stack: an IPv4 vip, an IPv6 vip6, and each backend\'s ip and ip6)' : ' in ip (its IPv6 one in ip6)'));
  }
  checkBackendIp6(backend, at, service, add);
  if (backend.u_threshold > 0 && backend.l_threshold > backend.u_threshold) {
    add(`${at}.l_threshold`, `must not exceed u_threshold (${backend.u_threshold})`);
  }
  if (backend.u_threshold === 0 && backend.l_threshold > 0) add(`${at}.l_threshold`, 'needs a u_threshold above it');
}

/** A dual-stack service's backend has both addresses; a single-family service's has no ip6. */
function checkBackendIp6(backend: BackendConfig, at: string, service: ServiceConfig, add: AddIssue): void {
  if (service.vip6 === undefined) {
    if (backend.ip6 !== undefined) add(`${at}.ip6`, `only a dual-stack service (with vip6) takes a backend's ip6; this service's VIP is ${service.vip}`);
    return;
  }
  if (backend.ip6 === undefined) {
    add(`${at}.ip6`, `required in a dual-stack service: the backend's IPv6 address, for the connections to vip6 ${service.vip6} (vadc does not translate between address families)`);
  } else if (familyOf(backend.ip6) !== 'IPv6') {
    add(`${at}.ip6`, `expected an IPv6 address, got the IPv4 address ${backend.ip6} (the IPv4 one is ip)`);
  } else if (backend.ip6 === service.vip6) add(`${at}.ip6`, `must differ from the VIP ${service.vip6}`);
}

/** An address's or prefix's family as people write it (canonical text: IPv6 is the one with ':'). */
function familyOf(address: string): 'IPv4' | 'IPv6' {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

/**
 * The tag's own rules: addresses it gives are backends' addresses, so not the VIP, and one per VM. A dual-stack
 * service's fixed addresses are IPv4 in `ips` and IPv6 in `ips6` (ip6_key and ips6 only there).
 */
function checkBackendsFrom(service: ServiceConfig, at: string, add: AddIssue): void {
  const from = service.backends_from!;
  const bat = `${at}.backends_from`;
  const seenPort = new Set<number>();
  from.ports.forEach((port, k) => {
    if (seenPort.has(port)) add(`${bat}.ports[${k}]`, `duplicate port ${port}`);
    seenPort.add(port);
  });
  if (service.vip6 === undefined) {
    const only = `only a dual-stack service (with vip6) takes`;
    if (from.ip6_key !== undefined) add(`${bat}.ip6_key`, `${only} ip6_key; this service's VMs' address key is ip_key`);
    if (from.ips6 !== undefined) add(`${bat}.ips6`, `${only} ips6; this service's VMs' fixed addresses are in ips`);
  }
  checkFixedAddresses(service, from.ips, service.vip, 'ips', `${bat}.ips`, add);
  if (service.vip6 !== undefined) checkFixedAddresses(service, from.ips6 ?? {}, service.vip6, 'ips6', `${bat}.ips6`, add);
}

/** backends_from's fixed addresses of one family (`ips`: the VIP's family; a dual-stack service's `ips6`: IPv6). */
function checkFixedAddresses(service: ServiceConfig, ips: Readonly<Record<string, string>>, vip: string, key: 'ips' | 'ips6', at: string, add: AddIssue): void {
  const owner = new Map<string, string>();
  for (const [selector, ip] of Object.entries(ips)) {
    // A tagged VM's address is of the VIP's family, as a configured backend's is (ip_key's is checked when read).
    if (familyOf(ip) !== familyOf(vip)) {
      const other = service.vip6 === undefined ? '' : ` (a dual-stack service's ${key === 'ips' ? 'IPv6 addresses go in ips6' : 'IPv4 addresses go in ips'})`;
      add(`${at}.${selector}`, `${ip} is an ${familyOf(ip)} address and the VIP ${vip} is ${familyOf(vip)}: vadc does not translate between address families${other}`);
    }
    if (!vip.includes('/') && ip === vip) add(`${at}.${selector}`, `must differ from the VIP ${vip}`);
    const other = owner.get(ip);
    if (other !== undefined) add(`${at}.${selector}`, `${ip} is also given to ${other}; each VM needs its own address`);
    else owner.set(ip, selector);
    const staticOne = service.backends.findIndex((b) => (key === 'ips' ? b.ip : b.ip6) === ip);
    if (staticOne >= 0) add(`${at}.${selector}`, `${ip} is also the address of backends[${staticOne}]; a VM is either configured or tagged, not both`);
  }
}

/**
 * Tiers must be contiguous from 0, and quorum cannot ask for more primaries than exist. Tagged backends
 * (backends_from) are tier 0, and how many there will be is not known here.
 */
function checkTiers(service: ServiceConfig, at: string, add: AddIssue): void {
  const tiers = new Set(service.backends.map((b) => b.tier));
  if (service.backends_from) tiers.add(0);
  service.backends.forEach((backend, j) => {
    if (backend.tier > 0 && !tiers.has(backend.tier - 1)) {
      add(`${at}.backends[${j}].tier`, `tier ${backend.tier} has no backend in tier ${backend.tier - 1}; tiers must be contiguous from 0`);
    }
  });
  const primaries = service.backends.filter((b) => b.tier === 0).length;
  if (service.quorum !== undefined && service.quorum > primaries && !service.backends_from) {
    add(`${at}.quorum`, `${service.quorum} exceeds the ${primaries} tier-0 backend(s)`);
  }
}
