/**
 * Egress queues (docs/operators/egress-queues.md): a backend's `queue` (its transmit queue on the uplink) and the
 * top-level `egress` section (which port's QoS vadc owns, and how the rates are enforced). Kept apart from
 * schema.ts, which imports these.
 */
import { z } from 'zod';
import { expected, integer, strict } from './zod-helpers';

/** Highest rate a queue or port takes, in bit/s (10 Tbit/s): far above any NIC, low enough to stay exact in a double. */
export const MAX_RATE_BPS = 10_000_000_000_000;
/** OVS's Queue other_config:priority is a 32-bit unsigned number (lower is served first). */
export const MAX_QUEUE_PRIORITY = 4_294_967_295;

const rate = (what: string) => integer(1, MAX_RATE_BPS, `${what}: a whole number of bit/s 1..${MAX_RATE_BPS}`);

/**
 * A backend's transmit queue on the egress port: OVS Queue other_config min-rate / max-rate / priority. Rates in
 * bit/s; at least one setting; min_rate <= max_rate.
 */
export const queueSchema = strict({
  /** Guaranteed rate (HTB/HFSC on a kernel datapath). */
  min_rate: rate('min_rate').optional(),
  /** Ceiling: the backend never sends faster out of the egress port. */
  max_rate: rate('max_rate').optional(),
  /** Lower is served first when queues compete for spare bandwidth (linux-htb). */
  priority: integer(0, MAX_QUEUE_PRIORITY, `priority: an integer 0..${MAX_QUEUE_PRIORITY} (lower is served first)`).optional(),
}).check((ctx) => {
  const q = ctx.value;
  if (q.min_rate === undefined && q.max_rate === undefined && q.priority === undefined) {
    ctx.issues.push({ code: 'custom', input: q, message: 'expected at least one of min_rate, max_rate, priority (an empty queue limits nothing)' });
  }
  if (q.min_rate !== undefined && q.max_rate !== undefined && q.min_rate > q.max_rate) {
    ctx.issues.push({
      code: 'custom', input: q, path: ['min_rate'],
      message: `expected min_rate <= max_rate (${q.max_rate} bit/s), got ${q.min_rate}`,
    });
  }
});

/**
 * A service's queues by failover tier ("0".."15"): each backend of that tier without a `queue` of its own gets this
 * one (its own queue, with these settings, on its own vNIC).
 */
export const tierQueuesSchema = z.record(
  z.string({ error: expected('a tier number 0..15') }).regex(/^(?:[0-9]|1[0-5])$/, { error: expected('a tier number 0..15') }),
  queueSchema,
  { error: (issue: { code?: string; input?: unknown; issues?: ReadonlyArray<{ message: string }> }) => (issue.code === 'invalid_key' && issue.issues?.[0]?.message) || expected('a mapping of tier numbers to queues, e.g. { 1: { max_rate: 100000000 } }')(issue) },
);

/** The backend with its tier's queue when it has none of its own. */
export function withTierQueue<B extends { tier: number; queue?: QueueConfig }>(backend: B, tierQueues: Readonly<Record<string, QueueConfig>> | undefined): B {
  const fromTier = backend.queue === undefined ? tierQueues?.[String(backend.tier)] : undefined;
  return fromTier ? { ...backend, queue: fromTier } : backend;
}

export const QOS_TYPES = ['linux-htb', 'linux-hfsc'] as const;

/**
 * Where backends' queues live: the uplink port whose OVSDB QoS vadc creates and owns, and how rates are enforced.
 *   police: false - queues only: set_queue picks the backend's queue; the kernel qdisc enforces it (kernel datapath).
 *   police: true  - also an OpenFlow meter per queued backend at its max_rate: what the userspace datapath
 *                   (datapath_type=netdev) enforces, since it does not carry set_queue's priority to the kernel.
 */
export const egressSchema = strict({
  port: z.string({ error: expected('an OVS port name') }).regex(/^[^\s/]{1,15}$/, { error: expected('an OVS port name (1..15 characters, no spaces or /)') }),
  qos_type: z.enum(QOS_TYPES, { error: expected(`one of ${QOS_TYPES.join(', ')}`) }).default('linux-htb'),
  /** The whole port's ceiling (QoS other_config:max-rate); unset: OVS takes the link speed. */
  max_rate: rate('max_rate').optional(),
  police: z.boolean({ error: expected('true or false') }).default(false),
});

export type QueueConfig = z.output<typeof queueSchema>;
export type EgressConfig = z.output<typeof egressSchema>;
