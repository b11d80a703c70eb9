// The lab's address and naming plan: pure functions of the lab name and host index, so `down` after a
// crash and parallel labs all agree on what a lab is called without asking the system.
import { createHash } from 'node:crypto';
import { LabError } from './errors';

export const DEFAULT_LAB_NAME = 'vadc';
/** Linux limits interface names to 15 characters (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;
const LAB_NAME_RE = /^[a-z0-9]{1,5}$/;
const HOST_NAME_RE = /^[a-z][a-z0-9]{0,5}$/;
/** VMs get .11 upward, clients .101 upward; the bridge LOCAL port is .1. */
export const FIRST_VM_OCTET = 11;
export const FIRST_CLIENT_OCTET = 101;
export const MAX_VMS = FIRST_CLIENT_OCTET - FIRST_VM_OCTET;
export const MAX_CLIENTS = 254 - FIRST_CLIENT_OCTET + 1;

export type HostRole = 'vm' | 'client';

export interface HostPlan {
  name: string;
  role: HostRole;
  netns: string;
  port: string;
  ip: string;
  /** Its IPv6 address (ipv6ForIp(ip)), in the lab's /64: every host has both families (IPv6 services, dual stack). */
  ip6: string;
  mac: string;
  ifaceId: string;
  vmUuid: string;
}

export interface LabPlan {
  name: string;
  bridge: string;
  /** e.g. '10.0.0.0/24' */
  subnet: string;
  prefixLength: number;
  localIp: string;
  /** 16 hex digits, as OVS wants other_config:datapath-id. */
  datapathId: string;
}

export function validateLabName(name: string): string {
  if (!LAB_NAME_RE.test(name)) {
    throw new LabError('bad-name', `lab name '${name}' is invalid: use 1 to 5 characters from a-z and 0-9`);
  }
  // The default lab's ports are 'v-vm1'..., so a lab named 'v' would take the same names.
  if (name === 'v') throw new LabError('bad-name', "lab name 'v' is reserved: the default lab's ports start with 'v-'");
  return name;
}

export function validateHostName(name: string): string {
  if (!HOST_NAME_RE.test(name)) {
    throw new LabError('bad-name', `host name '${name}' is invalid: a letter then up to 5 characters from a-z and 0-9`);
  }
  return name;
}

/** 32-bit FNV-1a: a stable, well-spread hash of the lab name for its subnet and datapath id. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The lab's /24: 10.0.0.0/24 for the default lab, otherwise 10.X.Y.0/24 with X in 1..200 from the name's hash. */
export function labSubnetBase(name: string): [number, number, number] {
  if (name === DEFAULT_LAB_NAME) return [10, 0, 0];
  const hash = fnv1a32(name);
  return [10, 1 + (hash % 200), (hash >>> 8) & 0xff];
}

export function planLab(rawName: string = DEFAULT_LAB_NAME): LabPlan {
  const name = validateLabName(rawName);
  const [a, b, c] = labSubnetBase(name);
  return {
    name,
    bridge: `br-${name}`,
    subnet: `${a}.${b}.${c}.0/24`,
    prefixLength: 24,
    localIp: `${a}.${b}.${c}.1`,
    datapathId: (name === DEFAULT_LAB_NAME ? 0x0a000001 : fnv1a32(`dpid:${name}`)).toString(16).padStart(16, '0'),
  };
}

/** Prefix of every OVS port and namespace of the lab: 'v' for the default lab so ports read 'v-vm1'. */
export function portPrefix(labName: string): string {
  return labName === DEFAULT_LAB_NAME ? 'v' : labName;
}

/** Host names in creation order: vm1, vm2 ... and cl1, cl2 ... */
export function defaultHostName(role: HostRole, index: number): string {
  return `${role === 'vm' ? 'vm' : 'cl'}${index}`;
}

/** A UUID-shaped, stable identifier (RFC 4122 version 5 layout over SHA-1), like a hypervisor's port and VM ids. */
export function stableUuid(seed: string): string {
  const bytes = createHash('sha1').update(seed).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A locally administered unicast MAC that spells the host's IP: 02:0a:BB:CC:00:DD for 10.BB.CC.DD. */
export function macForIp(ip: string): string {
  const octets = ip.split('.').map(Number);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return ['02', hex(octets[0]), hex(octets[1]), hex(octets[2]), '00', hex(octets[3])].join(':');
}

/** The lab's IPv6 addresses are in a /64 of their own per lab; a host keeps the last byte of its IPv4 address. */
export const LAB_IPV6_PREFIX_LENGTH = 64;

/**
 * The IPv6 twin of a lab address a.b.c.d: the unique-local fd00:0:AABB:CC00::DD (a /64 per lab /24, RFC 4193
 * space), e.g. 10.0.0.11 -> fd00:0:a00::b. Pure, so a VIP written as ipv6ForIp('10.0.0.100') names the lab's IPv6 VIP.
 */
export function ipv6ForIp(ip: string): string {
  const [a, b, c, d] = ip.split('.').map(Number);
  const hex = (n: number) => n.toString(16);
  // RFC 5952 by hand (lab imports nothing): groups fd00 0 AABB CC00 0 0 0 DD; the longest zero run is the three groups
  // before DD, or four when CC00 is 0 too (AABB and DD are never 0 in a lab: 10.x.y.0/24, hosts from .11).
  return c === 0 ? `fd00:0:${hex((a << 8) | b)}::${hex(d)}` : `fd00:0:${hex((a << 8) | b)}:${hex(c << 8)}::${hex(d)}`;
}

/**
 * Plans one host. `octet` is the last byte of its IP (caller picks a free one: see `nextFreeOctet`).
 */
export function planHost(lab: LabPlan, role: HostRole, hostName: string, octet: number): HostPlan {
  validateHostName(hostName);
  const [min, max] = role === 'vm' ? [FIRST_VM_OCTET, FIRST_CLIENT_OCTET - 1] : [FIRST_CLIENT_OCTET, 254];
  if (!Number.isInteger(octet) || octet < min || octet > max) {
    throw new LabError('bad-option', `${role} address .${octet} is outside .${min}-.${max}`);
  }
  const prefix = portPrefix(lab.name);
  const port = `${prefix}-${hostName}`;
  if (port.length > MAX_IFNAME) throw new LabError('bad-name', `port name '${port}' is longer than ${MAX_IFNAME}`);
  const ip = lab.localIp.replace(/\.1$/, `.${octet}`);
  return {
    name: hostName,
    role,
    netns: lab.name === DEFAULT_LAB_NAME ? `vadc-${hostName}` : `vadc-${lab.name}-${hostName}`,
    port,
    ip,
    ip6: ipv6ForIp(ip),
    mac: macForIp(ip),
    ifaceId: stableUuid(`iface:${lab.name}:${hostName}`),
    vmUuid: stableUuid(`vm:${lab.name}:${hostName}`),
  };
}

/** The lowest address of the role's range not taken by `used` last octets. */
export function nextFreeOctet(role: HostRole, used: Iterable<number>): number {
  const taken = new Set(used);
  const [min, max] = role === 'vm' ? [FIRST_VM_OCTET, FIRST_CLIENT_OCTET - 1] : [FIRST_CLIENT_OCTET, 254];
  for (let octet = min; octet <= max; octet++) if (!taken.has(octet)) return octet;
  throw new LabError('bad-option', `no free ${role} address left in the lab's /24`);
}

/** The lowest 'vmN'/'clN' name not taken. */
export function nextFreeHostName(role: HostRole, used: Iterable<string>): string {
  const taken = new Set(used);
  for (let index = 1; ; index++) {
    const name = defaultHostName(role, index);
    if (!taken.has(name)) return name;
  }
}

/** Whether any IPv4 address in `ip -o -4 addr show` output lies in the lab's /24 (another lab or network has it). */
export function subnetInUse(ipAddrOutput: string, subnet: string): boolean {
  const prefix = subnet.replace(/\.0\/24$/, '.');
  return ipAddrOutput.split('\n').some((line) => {
    const match = /\sinet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    return match !== null && match[1].startsWith(prefix);
  });
}

// ---- several simulated hypervisors in one lab (`lab up --hosts N`) ---------------------------------------

/** The userspace datapath is one per ovs-vswitchd; a handful of simulated hypervisors is what a lab needs. */
export const MAX_LAB_HYPERVISORS = 8;
const HYPERVISOR_NAME_RE = /^h[1-9]$/;

/**
 * One simulated hypervisor: its own bridge (datapath_type=netdev, its own datapath id and controller), joined
 * to the underlay bridge by a pair of patch ports. The underlay is the lab's own bridge (`br-NAME`, holding
 * the host's address), so the host reaches every VM through it, as a management network would.
 */
export interface HypervisorPlan {
  name: string;
  index: number;
  bridge: string;
  datapathId: string;
  /** Patch port on the hypervisor's bridge toward the underlay: what `cluster.uplink` names. */
  uplinkPort: string;
  /** Its peer on the underlay bridge. */
  underlayPort: string;
}

export function hypervisorName(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_LAB_HYPERVISORS) {
    throw new LabError('bad-option', `hosts must be a whole number from 1 to ${MAX_LAB_HYPERVISORS}, got ${String(index)}`);
  }
  return `h${index}`;
}

export function planHypervisor(lab: LabPlan, index: number): HypervisorPlan {
  const name = hypervisorName(index);
  const prefix = portPrefix(lab.name);
  return {
    name,
    index,
    bridge: `br-${lab.name}-${name}`,
    datapathId: fnv1a32(`dpid:${lab.name}:${name}`).toString(16).padStart(16, '0'),
    uplinkPort: `${prefix}-${name}-up`,
    underlayPort: `${prefix}-u-${name}`,
  };
}

/** Which hypervisor a VM or client of a multi-host lab belongs to: its name starts with it ('h2vm1' -> 'h2'). */
export function hypervisorOfHostName(hostName: string): string | undefined {
  const match = /^(h[1-9])(vm|cl)\d+$/.exec(hostName);
  return match ? match[1] : undefined;
}

export function isHypervisorName(name: string): boolean {
  return HYPERVISOR_NAME_RE.test(name);
}

/** A hypervisor's VM or client name: 'h1vm1', 'h2cl1'. */
export function hypervisorHostName(hypervisor: string, role: HostRole, index: number): string {
  return `${hypervisor}${defaultHostName(role, index)}`;
}

/**
 * Every VM and client of an N-hypervisor lab, in creation order. All share the lab's /24 (the underlay is one
 * L2 segment, so a backend on another hypervisor is reached by its own address); addresses are handed out
 * hypervisor by hypervisor, so h1's VMs come first.
 */
export function planHypervisorHosts(lab: LabPlan, hypervisors: number, vmsEach: number, clientsEach: number): Array<HostPlan & { hypervisor: string }> {
  if (hypervisors * vmsEach > MAX_VMS) {
    throw new LabError('bad-option', `${hypervisors} hosts x ${vmsEach} VMs is more than the ${MAX_VMS} VM addresses of the lab's /24`);
  }
  if (hypervisors * clientsEach > MAX_CLIENTS) {
    throw new LabError('bad-option', `${hypervisors} hosts x ${clientsEach} clients is more than the ${MAX_CLIENTS} client addresses of the lab's /24`);
  }
  const plans: Array<HostPlan & { hypervisor: string }> = [];
  for (let h = 1; h <= hypervisors; h++) {
    const hv = hypervisorName(h);
    for (let i = 1; i <= vmsEach; i++) {
      plans.push({ ...planHost(lab, 'vm', hypervisorHostName(hv, 'vm', i), FIRST_VM_OCTET + (h - 1) * vmsEach + i - 1), hypervisor: hv });
    }
  }
  for (let h = 1; h <= hypervisors; h++) {
    const hv = hypervisorName(h);
    for (let i = 1; i <= clientsEach; i++) {
      plans.push({ ...planHost(lab, 'client', hypervisorHostName(hv, 'client', i), FIRST_CLIENT_OCTET + (h - 1) * clientsEach + i - 1), hypervisor: hv });
    }
  }
  return plans;
}

/**
 * Each hypervisor's controller target from one given for the lab: a `tcp:`/`ssl:` target's port is counted up
 * per hypervisor (h1 gets the port given, h2 the next ...), as N daemons on one machine each listen on their own.
 */
export function hypervisorControllerTarget(target: string, index: number): string {
  const match = /^(tcp|ssl):(.+):(\d+)$/.exec(target);
  if (!match) {
    if (index === 1) return target;
    throw new LabError('bad-option', `controller '${target}' for several hosts must be tcp:IP:PORT or ssl:IP:PORT (each host gets PORT + its index - 1)`);
  }
  const port = Number(match[3]) + index - 1;
  if (port > 65535) throw new LabError('bad-option', `controller port ${port} for host h${index} is above 65535`);
  return `${match[1]}:${match[2]}:${port}`;
}

/** The TCP port of a controller target ('tcp:127.0.0.1:6653' -> 6653), null for none or a unix socket. */
export function controllerPort(target: string | null | undefined): number | null {
  const match = target ? /^(?:tcp|ssl|ptcp|pssl):(?:.*:)?(\d+)$/.exec(target) : null;
  return match ? Number(match[1]) : null;
}
