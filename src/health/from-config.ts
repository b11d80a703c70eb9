import type { HealthCheckConfig, ServiceConfig } from '../config';
import type { Logger } from '../util/logger';
import type { CheckFamily } from './backend-health';
import type { MonitoredBackend, ServiceHealthOptions } from './monitor';
import type { CheckScheduler } from './scheduler';
import { sourceFor, type CheckSpec, type HookSpec, type SourceAddresses, type StatusExpectation } from './types';

const seconds = (s: number) => Math.round(s * 1000);
/** Passive-only services still need rise/fall for the vNIC-driven passes: one pass is enough. */
const PASSIVE_RISE_FALL = { rise: 1, fall: 1 };
/** With no health section the interval only paces nothing; any positive value satisfies the monitor. */
const PASSIVE_INTERVAL_MS = 1000;

export interface HealthRuntimeInputs {
  scheduler: CheckScheduler;
  logger?: Logger;
  /** Checks are sent from here, per family (in the lab: the bridge's LOCAL port addresses). */
  sourceAddresses?: SourceAddresses;
  now?: () => number;
  /** False while this instance is a standby (no hooks run); see ServiceHealthOptions. */
  mayRunHooks?: () => boolean;
  /** Verdicts carried over from the monitor being replaced; see ServiceHealthOptions. */
  carried?: ServiceHealthOptions['carried'];
}

function statuses(value: Extract<HealthCheckConfig, { type: 'http' | 'https' }>['expect_status']): StatusExpectation | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map((s) => (typeof s === 'number' ? s : { from: Number(s.slice(0, 3)), to: Number(s.slice(4)) }));
}

/**
 * The active check of one (backend, software port) as the service's health section describes it, at the backend's
 * `ip`, or for family 'ipv6' at a dual-stack backend's `ip6` (a script check gets that address as VADC_IP).
 */
export function checkSpecFromConfig(
  health: HealthCheckConfig, service: string, backend: MonitoredBackend, softwarePort: number, sources?: SourceAddresses, family: CheckFamily = 'ipv4',
): CheckSpec {
  const port = health.port ?? softwarePort;
  const host = family === 'ipv6' ? backend.ip6 : backend.ip;
  if (host === undefined) throw new RangeError(`service ${service}: backend ${backend.id} has no IPv6 address to check`);
  const base = { host, port, timeoutMs: seconds(health.timeout), sourceAddress: sourceFor(sources, host) };
  switch (health.type) {
    case 'tcp':
      return { kind: 'tcp', ...base };
    case 'http':
    case 'https':
      return {
        kind: health.type,
        ...base,
        path: health.path,
        expectStatus: statuses(health.expect_status),
        expectBody: health.expect_body ?? (health.expect_body_match !== undefined ? new RegExp(health.expect_body_match) : undefined),
        hostHeader: health.host_header,
        tlsVerify: health.tls_verify,
      };
    case 'udp':
      return { kind: 'udp', ...base, send: health.send, expect: health.expect ?? (health.expect_match !== undefined ? new RegExp(health.expect_match) : undefined) };
    case 'script':
      return {
        kind: 'script',
        command: health.command,
        timeoutMs: seconds(health.timeout),
        env: { ...health.env, VADC_SERVICE: service, VADC_BACKEND: backend.id, VADC_VNIC: backend.vnic, VADC_IP: host, VADC_PORT: String(port) },
      };
  }
}

function hook(config: { command: string | string[]; timeout: number; env: Record<string, string> } | undefined): HookSpec | undefined {
  return config && { command: config.command, timeoutMs: seconds(config.timeout), env: config.env };
}

/** Everything ServiceHealthMonitor needs for one configured service. The service's launch/stop hooks serve each of its backends. */
export function healthOptionsFromConfig(service: ServiceConfig, inputs: HealthRuntimeInputs): ServiceHealthOptions {
  const launch = hook(service.launch);
  const stop = hook(service.stop);
  const relocate = hook(service.relocate);
  const backends: MonitoredBackend[] = service.backends.map((b) => ({
    id: b.name,
    vnic: b.vnic,
    ip: b.ip,
    ...(b.ip6 !== undefined ? { ip6: b.ip6 } : {}),
    ports: b.ports,
    tier: b.tier,
    weight: b.weight,
    launch,
    stop,
    relocate,
  }));
  const health = service.health;
  const failover = service.failover;
  return {
    service: service.name,
    backends,
    checkFor: health && ((b, port, family) => checkSpecFromConfig(health, service.name, b, port, inputs.sourceAddresses, family)),
    intervalMs: health ? seconds(health.interval) : PASSIVE_INTERVAL_MS,
    riseFall: health ? { rise: health.rise, fall: health.fall } : PASSIVE_RISE_FALL,
    tiers: {
      quorum: service.quorum,
      holdMs: seconds(failover?.hold ?? 10),
      connsPerBackend: failover?.conns_per_backend,
      queueMeasure: failover?.queue_measure,
      dropsRising: failover?.drops_rising,
      sorryBackend: service.sorry_backend?.name,
    },
    launch: {
      readyTimeoutMs: seconds(service.launch?.ready_timeout ?? 120),
      maxAttempts: service.launch?.max_attempts ?? 3,
      backoffBaseMs: seconds(service.launch?.backoff ?? 5),
      backoffMaxMs: seconds(service.launch?.backoff_max ?? 60),
      rearmMs: seconds(service.launch?.rearm ?? 300),
      stopCooldownMs: service.stop ? seconds(service.stop.cooldown) : undefined,
    },
    relocate: service.relocate && {
      connsAbove: service.relocate.conns_above,
      overloadedForMs: seconds(service.relocate.overloaded_for),
      maxAttempts: service.relocate.max_attempts,
      backoffBaseMs: seconds(service.relocate.backoff),
      backoffMaxMs: seconds(service.relocate.backoff_max),
      rearmMs: seconds(service.relocate.rearm),
      maxConcurrent: service.relocate.max_concurrent,
    },
    scheduler: inputs.scheduler,
    logger: inputs.logger,
    now: inputs.now,
    mayRunHooks: inputs.mayRunHooks,
    carried: inputs.carried,
  };
}
