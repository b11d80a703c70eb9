import type { HealthEvent } from './events';
import type { CheckResult } from './types';

/**
 * Health of one backend, keepalived-style, as a pure state machine: feed it inputs with `now`, get the next
 * state and the events to report. A backend serves when its vNIC is present and up and at least one of its
 * software ports passes its check; ports that fail are excluded individually. A dual-stack backend's port is checked at
 * both its addresses, and each family's verdict is its own: a port whose IPv6 check fails is out of the IPv6 VIP's new
 * connections only and still serves the IPv4 VIP (usablePorts per family; the scheduler state stays one per service).
 */
export type HealthVerdict = 'unknown' | 'up' | 'down';

export interface PortHealth {
  state: HealthVerdict;
  /** Consecutive passes / failures of the current streak. */
  passes: number;
  failures: number;
  reason: string;
  lastOutput: string;
  since: number;
}

/** What OVSDB and OpenFlow say about the vNIC. Nothing is assumed before the resolver reports it. */
export interface VnicView {
  /** False until the resolver has said anything about the vNIC: absent then means "not known yet". */
  reported: boolean;
  present: boolean;
  linkUp: boolean;
  adminUp: boolean;
  /** From OpenFlow port-status (OFPPS_LINK_DOWN / OFPPC_PORT_DOWN). */
  openflowUp: boolean;
}

export interface BackendHealth {
  backend: string;
  state: HealthVerdict;
  reason: string;
  since: number;
  vnic: VnicView;
  /** Keyed by software port number: the checks of the backend's `ip` (its IPv4 address when it is dual-stack). */
  ports: Record<number, PortHealth>;
  /** A dual-stack backend's checks of its IPv6 address `ip6`, keyed the same way; absent otherwise. */
  ports6?: Record<number, PortHealth>;
}

export interface RiseFall {
  /** Consecutive passes that bring a down port back up. */
  rise: number;
  /** Consecutive failures that take an up (or unknown) port down. */
  fall: number;
}

/** Which address of a dual-stack backend a check went to: `ip` (IPv4) or `ip6`. */
export type CheckFamily = 'ipv4' | 'ipv6';

export type HealthInput =
  /** `family` 'ipv6': the check of a dual-stack backend's `ip6` (default: of its `ip`). */
  | { kind: 'check'; port: number; family?: CheckFamily; result: CheckResult }
  /** From the OVSDB VnicResolver: appeared, changed or gone. */
  | { kind: 'vnic'; present: boolean; linkState?: 'up' | 'down'; adminState?: 'up' | 'down' }
  /** From OpenFlow port-status for the backend's ofport. */
  | { kind: 'port_status'; linkUp: boolean };

export interface HealthStep {
  health: BackendHealth;
  events: HealthEvent[];
}

function freshPort(now: number): PortHealth {
  return { state: 'unknown', passes: 0, failures: 0, reason: 'not checked yet', lastOutput: '', since: now };
}

function freshPorts(ports: Iterable<number | string>, now: number): Record<number, PortHealth> {
  return Object.fromEntries([...ports].map((p) => [p, freshPort(now)]));
}

/** `dualStack`: the backend's ports are checked at both its addresses (BackendHealth.ports6). */
export function initialBackendHealth(backend: string, ports: readonly number[], now: number, dualStack = false): BackendHealth {
  if (ports.length === 0) throw new RangeError(`backend ${backend}: at least one software port is needed to check health`);
  return {
    backend,
    state: 'unknown',
    reason: 'no check has passed yet',
    since: now,
    vnic: { reported: false, present: false, linkUp: false, adminUp: false, openflowUp: true },
    ports: freshPorts(ports, now),
    ...(dualStack ? { ports6: freshPorts(ports, now) } : {}),
  };
}

/**
 * A software port's verdict for the backend's own state: its check's, or for a dual-stack backend both families'
 * together: up while either is up (it serves that family's VIP), down once both are down, unknown otherwise.
 */
export function portVerdict(health: BackendHealth, port: number): HealthVerdict {
  const v4 = health.ports[port]?.state ?? 'unknown';
  const v6 = health.ports6?.[port]?.state;
  if (v6 === undefined) return v4;
  if (v4 === 'up' || v6 === 'up') return 'up';
  return v4 === 'down' && v6 === 'down' ? 'down' : 'unknown';
}

/** The port's verdict in one family: a dual-stack backend's check of that address ('ipv4': also a single-family backend's one check). */
export function familyVerdict(health: BackendHealth, port: number, family: CheckFamily): HealthVerdict {
  const ports = family === 'ipv6' ? health.ports6 : health.ports;
  return ports?.[port]?.state ?? 'unknown';
}

/** How events and reasons name a check's family: only a dual-stack backend's checks have one. */
function familyLabel(health: BackendHealth, family: CheckFamily | undefined): 'IPv4' | 'IPv6' | undefined {
  if (!health.ports6) return undefined;
  return family === 'ipv6' ? 'IPv6' : 'IPv4';
}

/** Why the vNIC cannot carry traffic, or undefined when it can. */
export function vnicProblem(vnic: VnicView): string | undefined {
  if (!vnic.present) return 'vNIC absent from OVSDB';
  if (!vnic.adminUp) return 'vNIC admin_state down';
  if (!vnic.linkUp) return 'vNIC link_state down';
  if (!vnic.openflowUp) return 'OpenFlow port-status: link down';
  return undefined;
}

export function stepPort(port: PortHealth, result: CheckResult, rf: RiseFall, now: number): PortHealth {
  const passes = result.ok ? port.passes + 1 : 0;
  const failures = result.ok ? 0 : port.failures + 1;
  let state = port.state;
  // unknown -> up on the first pass: a new backend gets traffic as soon as it proves itself once.
  if (result.ok && (state === 'unknown' || (state === 'down' && passes >= rf.rise))) state = 'up';
  if (!result.ok && state !== 'down' && failures >= rf.fall) state = 'down';
  return { state, passes, failures, reason: result.reason, lastOutput: result.output, since: state === port.state ? port.since : now };
}

/**
 * The software ports that may take new connections: of the backend's one family, or for a dual-stack backend of
 * `family` (without it: the ports that serve either family).
 */
export function usablePorts(health: BackendHealth, family?: CheckFamily): number[] {
  if (health.state !== 'up') return [];
  const ports = Object.keys(health.ports).map(Number);
  if (family === undefined || !health.ports6) return ports.filter((port) => portVerdict(health, port) === 'up');
  return ports.filter((port) => familyVerdict(health, port, family) === 'up');
}

/**
 * The families of a dual-stack backend that no port serves while the backend is up (every port's check of that
 * address fails or has not passed): what status and the backend's reason name. Empty for a single-family backend.
 */
export function familiesOut(health: BackendHealth): Array<'IPv4' | 'IPv6'> {
  if (!health.ports6 || health.state !== 'up') return [];
  const out: Array<'IPv4' | 'IPv6'> = [];
  if (usablePorts(health, 'ipv4').length === 0) out.push('IPv4');
  if (usablePorts(health, 'ipv6').length === 0) out.push('IPv6');
  return out;
}

function applyVnicInput(vnic: VnicView, input: Exclude<HealthInput, { kind: 'check' }>): VnicView {
  if (input.kind === 'port_status') return { ...vnic, openflowUp: input.linkUp };
  if (!input.present) return { ...vnic, reported: true, present: false };
  // A vNIC that (re)appears starts with a clean OpenFlow view: port-status for the new ofport follows if it is down.
  const openflowUp = vnic.present ? vnic.openflowUp : true;
  return { reported: true, present: true, linkUp: input.linkState !== 'down', adminUp: input.adminState !== 'down', openflowUp };
}

export function stepBackendHealth(health: BackendHealth, input: HealthInput, rf: RiseFall, now: number): HealthStep {
  const events: HealthEvent[] = [];
  let ports = health.ports;
  let ports6 = health.ports6;
  let vnic = health.vnic;
  let trigger: { reason: string; lastOutput: string; port?: number } | undefined;

  if (input.kind === 'check') {
    const ipv6 = input.family === 'ipv6';
    if (ipv6 && !ports6) throw new RangeError(`backend ${health.backend}: no IPv6 address is checked`);
    const before = (ipv6 ? ports6 : ports)?.[input.port];
    if (!before) throw new RangeError(`backend ${health.backend}: no software port ${input.port} is checked`);
    const after = stepPort(before, input.result, rf, now);
    if (ipv6) ports6 = { ...ports6, [input.port]: after };
    else ports = { ...ports, [input.port]: after };
    const family = familyLabel(health, input.family);
    trigger = { reason: `port ${input.port}${family ? ` (${family})` : ''}: ${input.result.reason}`, lastOutput: input.result.output, port: input.port };
    if (after.state !== before.state && after.state !== 'unknown') {
      events.push({
        kind: after.state === 'up' ? 'port_up' : 'port_down',
        level: after.state === 'up' ? 'info' : 'warn',
        time: now,
        backend: health.backend,
        port: input.port,
        ...(family ? { family } : {}),
        reason: input.result.reason,
        lastOutput: input.result.output,
      });
    }
  } else {
    const wasOk = vnicProblem(vnic) === undefined;
    vnic = applyVnicInput(vnic, input);
    const isOk = vnicProblem(vnic) === undefined;
    // After any passive outage the application must prove itself again before it gets traffic.
    if (wasOk !== isOk) {
      ports = freshPorts(Object.keys(ports), now);
      if (ports6) ports6 = freshPorts(Object.keys(ports6), now);
    }
    trigger = { reason: vnicProblem(vnic) ?? 'vNIC up', lastOutput: '' };
  }

  const problem = vnicProblem(vnic);
  const judged: BackendHealth = { ...health, ports, ...(ports6 ? { ports6 } : {}) };
  const portStates = Object.keys(ports).map((p) => portVerdict(judged, Number(p)));
  let state: HealthVerdict = health.state;
  let reason = health.reason;
  if (problem) {
    // Passive evidence acts at once, but only once the resolver has told us anything (present or gone).
    if (health.state !== 'unknown' || input.kind !== 'check') {
      state = 'down';
      reason = problem;
    }
  } else if (portStates.includes('up')) {
    state = 'up';
    reason = health.state === 'up' ? health.reason : trigger.reason;
  } else if (portStates.every((s) => s === 'down')) {
    state = 'down';
    reason = health.state === 'down' ? health.reason : `every port fails; ${trigger.reason}`;
  }
  if (state !== health.state) {
    events.push({
      kind: state === 'up' ? 'backend_up' : 'backend_down',
      level: state === 'up' ? 'info' : 'warn',
      time: now,
      backend: health.backend,
      reason,
      lastOutput: trigger.lastOutput,
    });
  }
  const next: BackendHealth = { ...judged, vnic, state, reason, since: state === health.state ? health.since : now };
  return { health: next, events };
}
