// Pure planning of a flow-setup run: option validation, what each emulated switch looks like
// (dpid, port names, VIP, backends), and the vadc configuration the internal controller loads.
import { isIPv4, isIPv6 } from 'node:net';
import { deriveVipMac } from '../config/addresses';
import { ipv4ToUint32, uint32ToIpv4 } from '../net/ipv4';
import { formatIpv6, parseIpv6 } from '../net/ipv6';
import type { ChildLauncher, ChildTimeouts } from './child-protocol';
import { FlowSetupOptionError } from './errors';
import { BenchFamily, BenchProtocol, CLIENT_BASE_IP, MAX_CLIENTS, portsPerSwitch } from './frames';

export type BenchMode = 'latency' | 'throughput';
export type ControllerTarget = { kind: 'internal' } | { kind: 'tcp'; host: string; port: number };
/**
 * What the internal controller child runs: vadc's load balancer; the reference responder (a minimal app on
 * vadc's runtime); or the raw responder (pre-encoded replies, no vadc code: the generator's ceiling).
 */
export type InternalApp = 'vadc' | 'reference' | 'raw';

export interface FlowSetupOptions {
  switches: number;
  mode: BenchMode;
  /** Loops including the warm-up loop(s). */
  loops: number;
  loopMs: number;
  /**
   * Fixed-count loops: each loop, every switch sends exactly this many packet-ins and the loop ends when all are
   * answered (loopMs is not used). The run's work is then the same every time, whatever the machine's load, so
   * instruction counts of whole runs repeat (scripts/count-instructions.js). Absent: loops of loopMs wall clock.
   */
  connections?: number;
  /**
   * Fixed-count loops only: each switch sends at most this many packet-ins per second (its loop's share allowed as the
   * clock goes), so two runs (IPv4 and IPv6) offer the controller the same pace. Its CPU per connection depends on the
   * pace while it is not saturated (fewer packet-ins per read and write at a slower one). Absent: as fast as answered.
   */
  rate?: number;
  warmupLoops: number;
  /** Distinct client addresses per switch (cbench's "MACs per switch"). */
  clients: number;
  /**
   * The first client's address (IPv4 text; with IPv6 the last 32 bits of the clients' fd00:be::/96 addresses, written
   * as IPv4 text). Absent: 172.16.0.0. An address's numbers decide whether V8 holds it as a small integer (below
   * 2^31) or a heap number: the bench's default IPv4 clients are above 128.0.0.0.
   */
  clientsFrom?: string;
  /** Packet-ins in flight per switch in throughput mode (latency mode always uses 1). */
  window: number;
  controller: ControllerTarget;
  app: InternalApp;
  protocol: BenchProtocol;
  /** The family of the clients, VIPs and backends (vadc does not translate between families). */
  family: BenchFamily;
  /**
   * VIP of switch 0, of `family`. Switch i uses vip + i * vipStride: IPv4 as a 32-bit number; IPv6 in /64
   * networks (stride 1: fd00:10::100, fd00:10:0:1::100, ...).
   */
  vip: string;
  vipStride: number;
  servicePort: number;
  /** The application's software ports on each backend VM. */
  backendPorts: number[];
  /** Port names of each switch, `{n}` replaced by the switch index; the client port is one of them. */
  portNames: string[];
  clientPortName: string;
  expectedFlowMods: number;
  /** The internal vadc's NAT mode: flows (2 flow-mods + packet-out per connection) or conntrack (the packet-out alone). */
  nat: 'flows' | 'conntrack';
  /**
   * The internal vadc's `datapath.end_copies` (copies/s of its meter; 0 = off, no copy flows). Where a controller
   * installed end-copy flows, each answered connection then ends: the switch sends the copies of its two FINs.
   */
  endCopies: number;
  scheduler: string;
  /** Pin the internal controller to core 1 and the generator to core 0 (taskset). */
  pin: boolean;
  /**
   * Internal controller processes, each serving its own group of switches (switch i: process i mod N), so the
   * packet-in path runs on N cores. Pinned to cores 1..N only when the machine has that many besides the generator's.
   */
  controllers: number;
  /** All switches must finish the handshake within this. */
  handshakeTimeoutMs: number;
  /** Write a CPU profile of the internal controller (node --cpu-prof) into this directory. */
  profileDir?: string;
  /** Internal controller: what runs the child (valgrind before Node when instructions are counted: ./instructions.ts). */
  childLauncher?: ChildLauncher;
  /** Internal controller: the child's own timeouts (start, stop, its sessions' handshake and echo), raised under valgrind. */
  childTimeouts?: ChildTimeouts;
}

export const DEFAULT_OPTIONS: FlowSetupOptions = {
  switches: 16, mode: 'latency', loops: 16, loopMs: 1000, warmupLoops: 1, clients: 100_000, window: 64,
  controller: { kind: 'internal' }, app: 'vadc', protocol: 'tcp', family: 'ipv4', vip: '10.0.0.100', vipStride: 256, servicePort: 80,
  backendPorts: [8080, 8081], portNames: ['v-vm1-{n}', 'v-vm2-{n}', 'v-cl1-{n}'], clientPortName: 'v-cl1-{n}',
  expectedFlowMods: 2, nat: 'flows', endCopies: 0, scheduler: 'rr', pin: true, controllers: 1, handshakeTimeoutMs: 15_000,
};

/** What --family ipv6 uses when --vip and --vip-stride are not given: a /64 per switch. */
export const DEFAULT_IPV6_VIP = { vip: 'fd00:10::100', vipStride: 1 } as const;

/** The defaults for a family: IPv6 takes its own VIP and stride unless the caller gives them. */
export function withDefaults(partial: Partial<FlowSetupOptions>): FlowSetupOptions {
  const family = partial.family === 'ipv6' ? DEFAULT_IPV6_VIP : {};
  const given = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_OPTIONS, ...family, ...given };
}

/** The first client's address as text: --clients-from, or the frames' default 172.16.0.0. */
export function clientsFrom(o: FlowSetupOptions): string {
  return o.clientsFrom ?? uint32ToIpv4(CLIENT_BASE_IP);
}

/** OVS (Linux) interface names are at most 15 bytes. */
const MAX_PORT_NAME = 15;

function intIn(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FlowSetupOptionError(option, `expected an integer ${min}..${max}, got ${value}`);
  }
}

/** Throws FlowSetupOptionError naming the first bad option. */
export function validateOptions(o: FlowSetupOptions): void {
  intIn('switches', o.switches, 1, 4096);
  intIn('loops', o.loops, o.warmupLoops + 1, 100_000);
  intIn('loop-ms', o.loopMs, 10, 3_600_000);
  if (o.connections !== undefined) intIn('connections', o.connections, 1, 10_000_000);
  if (o.rate !== undefined) {
    if (o.connections === undefined) throw new FlowSetupOptionError('rate', 'paces fixed-count loops: give --connections too');
    intIn('rate', o.rate, 1, 10_000_000);
  }
  intIn('warmup-loops', o.warmupLoops, 0, 1000);
  intIn('macs', o.clients, 1, MAX_CLIENTS);
  if (o.clientsFrom !== undefined) {
    if (!isIPv4(o.clientsFrom)) throw new FlowSetupOptionError('clients-from', `"${o.clientsFrom}" is not an IPv4 address (with --family ipv6: the clients' last 32 bits)`);
    if (ipv4ToUint32(o.clientsFrom) + o.clients - 1 > 0xffffffff) throw new FlowSetupOptionError('clients-from', `${o.clients} clients from ${o.clientsFrom} run past 255.255.255.255`);
  }
  intIn('window', o.window, 1, 65_536);
  intIn('service-port', o.servicePort, 1, 65_535);
  intIn('expected-flow-mods', o.expectedFlowMods, 0, 32);
  intIn('vip-stride', o.vipStride, 0, 1 << 24);
  intIn('handshake-timeout-ms', o.handshakeTimeoutMs, 1, 600_000);
  intIn('end-copies', o.endCopies, 0, 1_000_000);
  intIn('controllers', o.controllers, 1, 64);
  for (const [name, ms] of Object.entries(o.childTimeouts ?? {})) if (ms !== undefined) intIn(`child-timeouts.${name}`, ms, 1, 3_600_000);
  if (o.controllers > 1 && o.controller.kind !== 'internal') throw new FlowSetupOptionError('controllers', 'several controller processes need --controller internal');
  if (o.controllers > o.switches) throw new FlowSetupOptionError('controllers', `${o.controllers} controller processes need at least as many switches (got ${o.switches})`);
  if (portsPerSwitch(o.switches) < 1) throw new FlowSetupOptionError('switches', 'too many switches for distinct source ports');
  if (o.family === 'ipv6') {
    if (!isIPv6(o.vip)) throw new FlowSetupOptionError('vip', `"${o.vip}" is not an IPv6 address (--family ipv6)`);
    if ((ipv6Number(o.vip) >> 64n) + BigInt((o.switches - 1) * o.vipStride) > 0xffff_ffff_ffff_ffffn) {
      throw new FlowSetupOptionError('vip-stride', 'VIPs run past the last /64');
    }
    if (o.controller.kind === 'internal' && o.app !== 'vadc') {
      // The reference and raw responders build IPv4 flows only; they check the generator, which IPv4 does.
      throw new FlowSetupOptionError('app', `--family ipv6 runs vadc's app only (got ${o.app})`);
    }
  } else {
    if (!isIPv4(o.vip)) throw new FlowSetupOptionError('vip', `"${o.vip}" is not an IPv4 address`);
    if (ipv4ToUint32(o.vip) + (o.switches - 1) * o.vipStride > 0xffffffff) throw new FlowSetupOptionError('vip-stride', 'VIPs run past 255.255.255.255');
  }
  if (o.backendPorts.length === 0) throw new FlowSetupOptionError('backend-ports', 'at least one software port is needed');
  for (const port of o.backendPorts) intIn('backend-ports', port, 1, 65_535);
  if (!o.portNames.includes(o.clientPortName)) {
    throw new FlowSetupOptionError('client-port', `"${o.clientPortName}" is not one of the port names ${o.portNames.join(', ')}`);
  }
  if (o.portNames.length < 2) throw new FlowSetupOptionError('port-names', 'need the client port and at least one backend port');
  if (new Set(o.portNames).size !== o.portNames.length) throw new FlowSetupOptionError('port-names', 'names must be distinct');
  const longest = expandName(o.portNames.reduce((a, b) => (a.length >= b.length ? a : b)), o.switches - 1);
  if (longest.length > MAX_PORT_NAME) throw new FlowSetupOptionError('port-names', `"${longest}" is longer than ${MAX_PORT_NAME} bytes`);
  if (o.controller.kind === 'internal' && o.app === 'vadc' && o.switches > 1 && !o.portNames.every((n) => n.includes('{n}'))) {
    // vadc locates a vNIC on exactly one switch, so each switch needs its own port names.
    throw new FlowSetupOptionError('port-names', 'with vadc and several switches every name needs {n} (the switch index)');
  }
}

export function expandName(template: string, index: number): string {
  return template.split('{n}').join(String(index));
}

export interface SwitchPlan {
  index: number;
  dpid: bigint;
  portNames: string[];
  clientPortName: string;
  vip: string;
  vipMac: string;
  backends: Array<{ portName: string; ip: string }>;
}

/** dpids 0x0000bench000001... would not parse; use a recognisable high part and the index. */
const DPID_BASE = 0xbe0c_0000_0000_0000n;

function ipv6Number(text: string): bigint {
  return BigInt(`0x${Buffer.from(parseIpv6(text)).toString('hex')}`);
}

function ipv6Text(value: bigint): string {
  return formatIpv6(Buffer.from(value.toString(16).padStart(32, '0'), 'hex'));
}

/** Switch i's VIP and the addresses of its k backends. */
function switchAddresses(o: FlowSetupOptions, i: number, backends: number): { vip: string; backendIps: string[] } {
  const hosts = Array.from({ length: backends }, (_, k) => 11 + k);
  if (o.family === 'ipv6') {
    // Backends are the VIP's /64 hosts ::11, ::12, ... (read as IPv4's .11, .12 are: 0x11 + k).
    const vipNumber = ipv6Number(o.vip) + (BigInt(i * o.vipStride) << 64n);
    const net = vipNumber & ~0xffff_ffff_ffff_ffffn;
    return { vip: ipv6Text(vipNumber), backendIps: hosts.map((_, k) => ipv6Text(net + 0x11n + BigInt(k))) };
  }
  const vipNumber = ipv4ToUint32(o.vip) + i * o.vipStride;
  // Backends are the VIP's /24 hosts .11, .12, ... (the lab's convention).
  const net = (vipNumber & 0xffffff00) >>> 0;
  return { vip: uint32ToIpv4(vipNumber >>> 0), backendIps: hosts.map((h) => uint32ToIpv4((net + h) >>> 0)) };
}

export function planSwitches(o: FlowSetupOptions): SwitchPlan[] {
  const plans: SwitchPlan[] = [];
  for (let i = 0; i < o.switches; i++) {
    const portNames = o.portNames.map((name) => expandName(name, i));
    const clientPortName = expandName(o.clientPortName, i);
    const backendPorts = portNames.filter((n) => n !== clientPortName);
    const { vip, backendIps } = switchAddresses(o, i, backendPorts.length);
    const backends = backendPorts.map((portName, k) => ({ portName, ip: backendIps[k] }));
    plans.push({ index: i, dpid: DPID_BASE + BigInt(i + 1), portNames, clientPortName, vip, vipMac: deriveVipMac(vip), backends });
  }
  return plans;
}

/** The vadc configuration (as a plain object, YAML-ready) for the internal controller: one service per switch. */
export function benchConfig(o: FlowSetupOptions, plans: readonly SwitchPlan[]): Record<string, unknown> {
  return {
    controller: { listen: 'tcp:127.0.0.1:6653' },
    // Conntrack mode with tracker accounting: one packet-out per connection (the tracker is never read here).
    datapath: { nat: o.nat, accounting: 'conntrack', end_copies: o.endCopies },
    ovsdb: 'unix:/var/run/openvswitch/db.sock',
    services: plans.map((plan) => ({
      name: `bench${plan.index}`,
      vip: plan.vip,
      protocol: o.protocol,
      port: o.servicePort,
      scheduler: o.scheduler,
      persistence: 0,
      idle_timeout: 60,
      backends: plan.backends.map((b) => ({ vnic: b.portName, ip: b.ip, ports: o.backendPorts, weight: 1 })),
    })),
  };
}

/** `internal` or `tcp:HOST:PORT` (the --controller flag). */
export function parseControllerOption(text: string): ControllerTarget {
  if (text === 'internal') return { kind: 'internal' };
  const match = /^tcp:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) throw new FlowSetupOptionError('controller', `expected 'internal' or 'tcp:HOST:PORT', got '${text}'`);
  const host = match[1].startsWith('[') ? match[1].slice(1, -1) : match[1];
  return { kind: 'tcp', host, port };
}

/** A comma-separated flag value as a list, blanks dropped. */
export function parseList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}
