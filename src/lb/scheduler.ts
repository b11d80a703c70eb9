import type { Backend } from './backend';

/** The fields of a new connection's first packet that schedulers key on. IPv4 addresses as uint32. */
export interface PacketKey {
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
  proto: number;
}

export const SCHEDULER_NAMES = [
  'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'feedback',
] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/**
 * Picks the backend vNIC for a new connection. `backends` is the service's list in configuration
 * order (order matters: ties go to the first). Implementations keep only scheduling state (cursors,
 * hash tables, caches); a new array identity means members were added or removed.
 */
export interface Scheduler {
  readonly name: SchedulerName;
  pick(backends: readonly Backend[], pkt: PacketKey, now: number): Backend | null;
  /** Call after members, weights or thresholds changed so tables and cursors are rebuilt. */
  onChange?(backends: readonly Backend[]): void;
}
