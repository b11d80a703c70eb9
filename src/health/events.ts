import type { VadcEvent } from '../runtime/types';

export type HealthEventKind =
  | 'backend_up'
  | 'backend_down'
  | 'port_up'
  | 'port_down'
  | 'failover'
  | 'failback'
  | 'nothing_healthy'
  | 'launch_started'
  | 'launch_succeeded'
  | 'launch_failed'
  | 'stop_started'
  | 'stop_succeeded'
  | 'stop_failed'
  | 'backend_draining'
  | 'backend_drained'
  | 'relocate_started'
  | 'relocate_succeeded'
  | 'relocate_failed'
  | 'relocate_held';

/** What the pure health, failover, launch and drain machines report; the daemon turns it into a VadcEvent. */
export interface HealthEvent {
  kind: HealthEventKind;
  level: 'info' | 'warn' | 'error';
  time: number;
  reason: string;
  backend?: string;
  port?: number;
  /** The family of a dual-stack backend's check (port_up, port_down); single-family checks have none. */
  family?: 'IPv4' | 'IPv6';
  tier?: number;
  /** The last check's output (backend_up/down), or a hook's output (launch_*, stop_*, relocate_*). */
  lastOutput?: string;
  data?: Record<string, unknown>;
}

export function toVadcEvent(event: HealthEvent, service?: string): VadcEvent {
  const port = event.port !== undefined ? ` port ${event.port}${event.family ? ` (${event.family})` : ''}` : '';
  const subject = event.backend ? `backend ${event.backend}${port}` : event.tier !== undefined ? `tier ${event.tier}` : 'service';
  const data: Record<string, unknown> = { ...event.data, reason: event.reason };
  if (event.lastOutput !== undefined) data.lastOutput = event.lastOutput;
  if (event.tier !== undefined) data.tier = event.tier;
  if (event.port !== undefined) data.port = event.port;
  if (event.family !== undefined) data.family = event.family;
  return {
    time: event.time,
    kind: event.kind,
    level: event.level,
    message: `${event.kind.replace(/_/g, ' ')}: ${subject}: ${event.reason}`,
    service,
    backend: event.backend,
    data,
  };
}
