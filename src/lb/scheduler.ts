import type { Backend } from './backend';
import type { Ipv6Pair } from '../net/ipv6';

/**
 * The fields of a new connection's first packet that schedulers key on. IPv4 addresses as uint32. For IPv6,
 * srcIp and dstIp are each address's IPVS fold (net/foldIpv6: the xor of its four words, what the kernel's sh,
 * dh and lblc hash), and `ip6` holds the source's then the destination's four words (persistence and the
 * connection table key on the whole address).
 */
export interface PacketKey {
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
  proto: number;
  /** IPv6 only: the client's and the VIP's address words (ConnKey.ip6). */
  ip6?: Ipv6Pair;
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
  /** A connection on `backend` ended at `now` after `durationMs` (first packet to its end), as the datapath showed it. */
  connectionEnded?(backend: Backend, durationMs: number, now: number): void;
}
