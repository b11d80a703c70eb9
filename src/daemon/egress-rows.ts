// The egress QoS rows the configuration asks for: a pure function of the `egress` section and the served
// services, numbered by the same assignEgressQueues that numbers the app's set_queue flows.
import type { EgressConfig, QueueConfig, ServiceConfig } from '../config';
import { assignEgressQueues, type EgressQueue } from '../flows/egress';
import type { DesiredEgressQos } from '../ovsdb';

/** OVS's Queue other_config keys for vadc's queue settings. */
function queueOtherConfig(q: QueueConfig): Record<string, string> {
  return {
    ...(q.min_rate !== undefined ? { 'min-rate': String(q.min_rate) } : {}),
    ...(q.max_rate !== undefined ? { 'max-rate': String(q.max_rate) } : {}),
    ...(q.priority !== undefined ? { priority: String(q.priority) } : {}),
  };
}

/** The queued vNICs of the served services and their queue ids; none without the egress section. */
function servedQueues(egress: EgressConfig | undefined, services: readonly ServiceConfig[]): EgressQueue[] {
  if (!egress) return [];
  return assignEgressQueues(services.flatMap((s) => (s.sorry_backend ? [...s.backends, s.sorry_backend] : s.backends)));
}

/** vNIC -> the queue id its traffic is tagged with (status shows it per backend). */
export function egressQueueIds(egress: EgressConfig | undefined, services: readonly ServiceConfig[]): Map<string, number> {
  return new Map(servedQueues(egress, services).map((q) => [q.vnic, q.queueId]));
}

/** undefined (no rows) without the egress section or without a queued backend. */
export function desiredEgressQos(egress: EgressConfig | undefined, services: readonly ServiceConfig[]): DesiredEgressQos | undefined {
  if (!egress) return undefined;
  const queues = servedQueues(egress, services);
  if (queues.length === 0) return undefined;
  return {
    port: egress.port,
    type: egress.qos_type,
    otherConfig: egress.max_rate !== undefined ? { 'max-rate': String(egress.max_rate) } : {},
    queues: queues.map((q) => ({ queueId: q.queueId, otherConfig: queueOtherConfig(q.queue), externalIds: { 'vadc-vnic': q.vnic } })),
  };
}
