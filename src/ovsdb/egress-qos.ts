/**
 * vadc's egress QoS (docs/operators/egress-queues.md): the QoS row on the egress (uplink) port and one Queue row
 * per queued vNIC, marked `external_ids:vadc-owner=vadc`. vadc touches only rows carrying that mark: a port that
 * already has someone else's QoS is left as it is and reported.
 *
 * planEgressQos is pure (the transaction that makes the database hold `desired`, from the typed cache's rows);
 * the daemon's OvsdbLink runs it when the configuration or the rows change.
 */
import { condition, namedUuid, Uuid, type Atom, type Row } from './notation';
import { op, type Operation } from './operations';
import type { PortRow, QosRow, QueueRow, StringMap } from './cache';

/** The mark on every QoS and Queue row vadc owns. */
export const EGRESS_OWNER_KEY = 'vadc-owner';
export const EGRESS_OWNER = 'vadc';

export interface DesiredQueue {
  queueId: number;
  /** Queue other_config: min-rate, max-rate, priority (bit/s; text, as OVS stores them). */
  otherConfig: StringMap;
  /** Besides the owner mark: which vNIC the queue is for. */
  externalIds: StringMap;
}

export interface DesiredEgressQos {
  port: string;
  type: string;
  /** QoS other_config (max-rate of the whole port). */
  otherConfig: StringMap;
  queues: DesiredQueue[];
}

/** The rows the plan reads: the typed cache's Port, QoS and Queue tables. */
export interface EgressQosState {
  ports: Iterable<PortRow>;
  qos: Iterable<QosRow>;
  queues: Iterable<QueueRow>;
}

export type EgressQosProblem =
  | { kind: 'port_missing'; port: string; message: string }
  | { kind: 'foreign_qos'; port: string; qos: string; message: string };

export interface EgressQosPlan {
  /** One transaction; [] when the database already holds what is wanted (or a problem stops it). */
  ops: Operation[];
  problem?: EgressQosProblem;
}

const owned = (row: { externalIds: StringMap }): boolean => row.externalIds[EGRESS_OWNER_KEY] === EGRESS_OWNER;
const byUuid = (uuid: string) => [condition('_uuid', '==', new Uuid(uuid))];
const toMap = (m: StringMap): Map<Atom, Atom> => new Map<Atom, Atom>(Object.entries(m));

function sameMap(a: StringMap, b: StringMap): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Removes an owned QoS row: off every port that names it, its owned queues and itself. */
function removeQos(qos: QosRow, ports: readonly PortRow[], queues: ReadonlyMap<string, QueueRow>, ops: Operation[]): void {
  for (const port of ports) if (port.qos === qos.uuid) ops.push(op.update('Port', byUuid(port.uuid), { qos: [] }));
  ops.push(op.delete('QoS', byUuid(qos.uuid)));
  for (const uuid of Object.values(qos.queues)) if (queues.get(uuid) && owned(queues.get(uuid)!)) ops.push(op.delete('Queue', byUuid(uuid)));
}

/**
 * The operations that make the database hold exactly `desired` (undefined: none of vadc's rows): vadc's QoS on
 * `desired.port` with its queues; every other row vadc owns is removed. Rows without vadc's mark are never named
 * in an operation.
 */
export function planEgressQos(desired: DesiredEgressQos | undefined, state: EgressQosState): EgressQosPlan {
  const ports = [...state.ports];
  const queues = new Map([...state.queues].map((q) => [q.uuid, q]));
  const allQos = [...state.qos];
  const ours = allQos.filter(owned);
  const ops: Operation[] = [];
  const orphanQueues = (keep: ReadonlySet<string>) => {
    const referenced = new Set(ours.flatMap((q) => Object.values(q.queues)));
    for (const q of queues.values()) if (owned(q) && !keep.has(q.uuid) && !referenced.has(q.uuid)) ops.push(op.delete('Queue', byUuid(q.uuid)));
  };

  if (!desired) {
    for (const qos of ours) removeQos(qos, ports, queues, ops);
    orphanQueues(new Set());
    return { ops };
  }
  const port = ports.find((p) => p.name === desired.port);
  if (!port) {
    return { ops: [], problem: { kind: 'port_missing', port: desired.port, message: `egress port ${desired.port} is not in OVSDB: its queues wait for it` } };
  }
  const current = port.qos === undefined ? undefined : allQos.find((q) => q.uuid === port.qos);
  if (port.qos !== undefined && !(current && owned(current))) {
    const what = current ? `QoS ${current.uuid} (type ${current.type || 'none'})` : `QoS ${port.qos}`;
    return {
      ops: [],
      problem: {
        kind: 'foreign_qos', port: desired.port, qos: port.qos,
        message: `egress port ${desired.port} already has ${what} that vadc does not own (no ${EGRESS_OWNER_KEY}=${EGRESS_OWNER}): left as it is; the backends' queues are not set`,
      },
    };
  }
  // vadc's QoS: the one on the port, else one of its own elsewhere (the port changed), else a new one.
  const target = current ?? ours[0];
  for (const qos of ours) if (qos !== target) removeQos(qos, ports, queues, ops);
  if (target) for (const other of ports) if (other !== port && other.qos === target.uuid) ops.push(op.update('Port', byUuid(other.uuid), { qos: [] }));

  const queueMap = new Map<Atom, Atom>();
  const kept = new Set<string>();
  let changed = false;
  for (const want of desired.queues) {
    const externalIds = { ...want.externalIds, [EGRESS_OWNER_KEY]: EGRESS_OWNER };
    const haveUuid = target?.queues[want.queueId];
    const have = haveUuid === undefined ? undefined : queues.get(haveUuid);
    if (have && owned(have)) {
      kept.add(have.uuid);
      queueMap.set(want.queueId, new Uuid(have.uuid));
      if (!sameMap(have.otherConfig, want.otherConfig) || !sameMap(have.externalIds, externalIds)) {
        ops.push(op.update('Queue', byUuid(have.uuid), { other_config: toMap(want.otherConfig), external_ids: toMap(externalIds) }));
      }
      continue;
    }
    changed = true;
    const name = `queue${want.queueId}`;
    ops.push(op.insert('Queue', { other_config: toMap(want.otherConfig), external_ids: toMap(externalIds) }, name));
    queueMap.set(want.queueId, namedUuid(name));
  }
  if (target) {
    for (const uuid of Object.values(target.queues)) {
      if (kept.has(uuid)) continue;
      changed = true;
      if (queues.get(uuid) && owned(queues.get(uuid)!)) ops.push(op.delete('Queue', byUuid(uuid)));
    }
  }
  const qosRow: Row = {
    type: desired.type, other_config: toMap(desired.otherConfig), queues: queueMap,
    external_ids: toMap({ [EGRESS_OWNER_KEY]: EGRESS_OWNER }),
  };
  if (!target) {
    ops.push(op.insert('QoS', qosRow, 'qos'));
    ops.push(op.update('Port', byUuid(port.uuid), { qos: namedUuid('qos') }));
  } else {
    if (changed || target.type !== desired.type || !sameMap(target.otherConfig, desired.otherConfig)) ops.push(op.update('QoS', byUuid(target.uuid), qosRow));
    if (port.qos !== target.uuid) ops.push(op.update('Port', byUuid(port.uuid), { qos: new Uuid(target.uuid) }));
  }
  orphanQueues(kept);
  return { ops };
}
