import { LbInputError } from './errors';
import { toUint32 } from '../net/ipv4';
import { parseIpv6 } from '../net/ipv6';

/** An address family of a connection or a backend's address: a dual-stack backend has one of each. */
export type AddressFamily = 'ipv4' | 'ipv6';

/** What the configuration says about one backend vNIC. */
export interface BackendSpec {
  /** Stable identity, e.g. the vNIC reference from the config ('v-vm1', 'iface-id:...'). */
  id: string;
  /** IPv4 address (text or uint32); 0 for a backend with only an IPv6 address. */
  ip: string | number;
  /** IPv6 address (text), for a backend of an IPv6 or dual-stack service. */
  ip6?: string;
  /** The application's software ports on this VM. */
  ports: readonly number[];
  weight?: number;
  /** OVERLOAD is set when active + inactive >= upper (0 = no limit). */
  upperThreshold?: number;
  /** OVERLOAD clears when active + inactive < lower (0 = use 3/4 of upper). */
  lowerThreshold?: number;
}

/** IPVS's connection states as far as counting goes: only TCP ESTABLISHED is active. */
export type ConnState = 'active' | 'inactive';

const MAX_WEIGHT = 65535;

function checkCount(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new LbInputError(field, `expected an integer 0..${max}, got ${value}`);
  }
  return value;
}

/**
 * One backend vNIC with the counters IPVS keeps per destination. Mutable on purpose: the connection
 * table updates the counters in O(1) and every scheduler reads them; all changes go through the
 * functions below so the OVERLOAD flag follows the kernel's rules.
 */
export class Backend {
  readonly id: string;
  readonly ip: number;
  /** The IPv6 address's 16 bytes, parsed once (undefined for an IPv4-only backend). */
  readonly ip6: Uint8Array | undefined;
  readonly ports: readonly number[];
  weight: number;
  /** Latest non-zero weight: hashing tables keep a quiesced backend's slots (kernel last_weight). */
  lastWeight: number;
  upperThreshold: number;
  lowerThreshold: number;
  /** Health: false when the health checker or OVSDB says the vNIC is down. */
  available = true;
  /** IP_VS_DEST_F_OVERLOAD. */
  overloaded = false;
  activeConns = 0;
  inactiveConns = 0;
  /** Connections that ended on this backend, ever: the feedback scheduler's measure of work done. */
  completedConns = 0;
  /**
   * A `decisions: datapath` service: the connections the latest tracker listing showed open that no earlier listing
   * had (feedback's L there: an entry the tracker keeps open after its connection ended counts at one poll, not all).
   */
  listedNewOpen = 0;
  /**
   * TCP connections that ended (both FINs or a RST seen) within the connection table's linger time: no longer open,
   * but still in the least-connection overhead as IPVS keeps TIME_WAIT and CLOSE connections in its inactive count.
   * Not in totalConns (thresholds, draining and feedback count what the VM holds open).
   */
  lingeringConns = 0;
  /** Outstanding connections per software port, same order as `ports`. */
  readonly portConns: Int32Array;
  /** Where the port picker's tie rotation continues. */
  portCursor = 0;
  /**
   * Why each software port (same order as `ports`) takes no new connections: PORT_OUT_* bits, 0 = serving.
   * Set through setPortOut, which keeps `portsOut` and `portsOut6` in step.
   */
  readonly portOut: Uint8Array;
  /**
   * Ports out of new IPv4 connections (portOut & OUT_OF_IPV4), and `portsOut6` of IPv6 ones: the backend serves a
   * family while some port is not out of it. Equal unless a dual-stack backend's port fails one family's check only.
   */
  portsOut = 0;
  portsOut6 = 0;
  /** Times the passive outlier detector ejected one of its ports (a counter: since this backend was built). */
  outlierEjections = 0;

  constructor(spec: BackendSpec) {
    if (typeof spec.id !== 'string' || spec.id.length === 0) {
      throw new LbInputError('backend.id', 'expected a non-empty string');
    }
    this.id = spec.id;
    this.ip = toUint32(spec.ip);
    try {
      this.ip6 = spec.ip6 === undefined ? undefined : parseIpv6(spec.ip6);
    } catch (err) {
      throw new LbInputError(`backend ${spec.id}.ip6`, (err as Error).message);
    }
    if (!Array.isArray(spec.ports) || spec.ports.length === 0) {
      throw new LbInputError(`backend ${spec.id}.ports`, 'expected at least one software port');
    }
    for (const port of spec.ports) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new LbInputError(`backend ${spec.id}.ports`, `expected ports 1..65535, got ${port}`);
      }
    }
    this.ports = [...spec.ports];
    this.portConns = new Int32Array(this.ports.length);
    this.portOut = new Uint8Array(this.ports.length);
    this.weight = checkCount(`backend ${spec.id}.weight`, spec.weight ?? 1, MAX_WEIGHT);
    this.lastWeight = this.weight;
    this.upperThreshold = checkCount(`backend ${spec.id}.upperThreshold`, spec.upperThreshold ?? 0, 2 ** 31 - 1);
    this.lowerThreshold = checkCount(`backend ${spec.id}.lowerThreshold`, spec.lowerThreshold ?? 0, 2 ** 31 - 1);
  }

  /**
   * ip_vs_dest_conn_overhead: an active connection weighs 256 inactive ones; the inactive include the connections
   * that ended within the linger time (IPVS's TIME_WAIT/CLOSE entries).
   */
  get overhead(): number {
    return this.activeConns * 256 + this.inactiveConns + this.lingeringConns;
  }

  /** ip_vs_dest_totalconns, what the thresholds compare against. */
  get totalConns(): number {
    return this.activeConns + this.inactiveConns;
  }

  /**
   * Up, with at least one software port taking new connections of the family (`ipv6`: IPv6 ones), whatever the
   * weight and OVERLOAD. A single-family backend's ports are in or out for every connection alike.
   */
  servingFor(ipv6: boolean): boolean {
    return this.available && (ipv6 ? this.portsOut6 : this.portsOut) < this.ports.length;
  }

  /** Takes new connections of the family at all: serving it and not drained (weight 0); OVERLOAD, a passing state, aside. */
  takesNew(ipv6: boolean): boolean {
    return this.servingFor(ipv6) && this.weight > 0;
  }

  /** May take a new connection of the family (`ipv6`: an IPv6 one): serving it, not quiesced (weight 0), not OVERLOAD. */
  eligibleFor(ipv6: boolean): boolean {
    return this.available && (ipv6 ? this.portsOut6 : this.portsOut) < this.ports.length && this.weight > 0 && !this.overloaded;
  }
}

/** A port's active health check fails (src/health's per-port verdict; a dual-stack backend's: both families' checks). */
export const PORT_OUT_HEALTH = 1;
/** The outlier detector ejected the port (src/lb/outlier.ts). */
export const PORT_OUT_OUTLIER = 2;
/** A dual-stack backend's port fails its IPv4 check: out of new IPv4 connections only. */
export const PORT_OUT_HEALTH_IPV4 = 4;
/** A dual-stack backend's port fails its IPv6 check: out of new IPv6 connections only. */
export const PORT_OUT_HEALTH_IPV6 = 8;
/** The portOut bits that take a port out of new IPv4 connections (every reason but the IPv6 check's). */
const OUT_OF_IPV4 = PORT_OUT_HEALTH | PORT_OUT_OUTLIER | PORT_OUT_HEALTH_IPV4;
/** The portOut bits that take a port out of new IPv6 connections. */
const OUT_OF_IPV6 = PORT_OUT_HEALTH | PORT_OUT_OUTLIER | PORT_OUT_HEALTH_IPV6;

/** The portOut bits that keep a port from new connections of the family (`ipv6`: IPv6 ones). */
export function outOfFamily(ipv6: boolean): number {
  return ipv6 ? OUT_OF_IPV6 : OUT_OF_IPV4;
}

/** Sets or clears one reason (PORT_OUT_*) for software port `portIndex` to take no new connections. */
export function setPortOut(backend: Backend, portIndex: number, reason: number, out: boolean): void {
  if (!Number.isInteger(portIndex) || portIndex < 0 || portIndex >= backend.ports.length) {
    throw new LbInputError(`backend ${backend.id}.port`, `no port index ${portIndex}`);
  }
  const before = backend.portOut[portIndex];
  const after = out ? before | reason : before & ~reason;
  backend.portOut[portIndex] = after;
  backend.portsOut += Number((after & OUT_OF_IPV4) !== 0) - Number((before & OUT_OF_IPV4) !== 0);
  backend.portsOut6 += Number((after & OUT_OF_IPV6) !== 0) - Number((before & OUT_OF_IPV6) !== 0);
}

/** Weight 0 quiesces: no new connections, existing ones stay. The caller tells the scheduler (onChange). */
export function setWeight(backend: Backend, weight: number): void {
  backend.weight = checkCount(`backend ${backend.id}.weight`, weight, MAX_WEIGHT);
  if (weight > 0) backend.lastWeight = weight;
}

/** As ip_vs_ctl's update of a destination: raising or removing the upper limit clears OVERLOAD. */
export function setThresholds(backend: Backend, upper: number, lower: number): void {
  const previousUpper = backend.upperThreshold;
  backend.upperThreshold = checkCount(`backend ${backend.id}.upperThreshold`, upper, 2 ** 31 - 1);
  backend.lowerThreshold = checkCount(`backend ${backend.id}.lowerThreshold`, lower, 2 ** 31 - 1);
  if (upper === 0 || upper > previousUpper) backend.overloaded = false;
}

/** ip_vs_bind_dest: count the new connection, then set OVERLOAD when the upper threshold is reached. */
export function bindConnection(backend: Backend, state: ConnState, portIndex: number): void {
  if (state === 'active') backend.activeConns++;
  else backend.inactiveConns++;
  backend.portConns[portIndex]++;
  if (backend.upperThreshold !== 0 && backend.totalConns >= backend.upperThreshold) {
    backend.overloaded = true;
  }
}

/** ip_vs_unbind_dest: uncount, then clear OVERLOAD by the lower threshold (or 3/4 of the upper). */
export function unbindConnection(backend: Backend, state: ConnState, portIndex: number): void {
  if (state === 'active') backend.activeConns--;
  else backend.inactiveConns--;
  backend.portConns[portIndex]--;
  backend.completedConns++;
  const total = backend.totalConns;
  if (backend.lowerThreshold !== 0) {
    if (total < backend.lowerThreshold) backend.overloaded = false;
  } else if (backend.upperThreshold !== 0) {
    if (total * 4 < backend.upperThreshold * 3) backend.overloaded = false;
  } else {
    backend.overloaded = false;
  }
}

/** A TCP connection moving into or out of ESTABLISHED; OVERLOAD is untouched, as in the kernel. */
export function changeConnectionState(backend: Backend, from: ConnState, to: ConnState): void {
  if (from === to) return;
  if (to === 'active') {
    backend.activeConns++;
    backend.inactiveConns--;
  } else {
    backend.activeConns--;
    backend.inactiveConns++;
  }
}
