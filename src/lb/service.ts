import { Backend, BackendSpec, ConnState, setThresholds, setWeight } from './backend';
import { ConnectionTable, ConnKey, type ConnSide, type EndOutcome } from './conn-table';
import { LbInputError } from './errors';
import { PersistenceOptions, PersistenceTable } from './persistence';
import { pickPortIndex } from './port-picker';
import { createScheduler, SchedulerOptions } from './registry';
import type { PacketKey, Scheduler } from './scheduler';

export interface ServiceOptions {
  scheduler: string;
  schedulerOptions?: SchedulerOptions;
  /** Client affinity; omitted or timeoutMs 0 = off. */
  persistence?: PersistenceOptions;
}

/** Where a new connection goes: the backend vNIC and the software port on it. */
export interface Placement {
  backend: Backend;
  portIndex: number;
  softwarePort: number;
}

export function connKeyOf(pkt: PacketKey): ConnKey {
  const key: ConnKey = { proto: pkt.proto, clientIp: pkt.srcIp, clientPort: pkt.srcPort, vip: pkt.dstIp, vipPort: pkt.dstPort };
  if (pkt.ip6 !== undefined) key.ip6 = pkt.ip6.slice(0, 8);
  return key;
}

/**
 * One service's load-balancing state: its members, scheduler, persistence templates and connection
 * table. Pure: the caller passes `now` and turns placements into flows.
 */
export class LbService {
  readonly scheduler: Scheduler;
  readonly connections = new ConnectionTable();
  private readonly persistence: PersistenceTable | null;
  private members: readonly Backend[];

  constructor(backends: readonly (Backend | BackendSpec)[], opts: ServiceOptions) {
    this.scheduler = createScheduler(opts.scheduler, opts.schedulerOptions);
    this.members = backends.map((b) => (b instanceof Backend ? b : new Backend(b)));
    const ids = new Set<string>();
    for (const b of this.members) {
      if (ids.has(b.id)) throw new LbInputError('backend.id', `duplicate backend ${b.id}`);
      ids.add(b.id);
    }
    this.persistence = opts.persistence && opts.persistence.timeoutMs > 0 ? new PersistenceTable(opts.persistence) : null;
    this.scheduler.onChange?.(this.members);
  }

  get backends(): readonly Backend[] {
    return this.members;
  }

  backendById(id: string): Backend | undefined {
    return this.members.find((b) => b.id === id);
  }

  /** Choose backend and software port for a new connection; null when no backend can take it. */
  place(pkt: PacketKey, now: number): Placement | null {
    const persistent = this.persistence?.lookup(pkt.srcIp, pkt.ip6, this.members, now) ?? null;
    const backend = persistent ?? this.scheduler.pick(this.members, pkt, now);
    if (!backend) return null;
    const portIndex = pickPortIndex(backend);
    return { backend, portIndex, softwarePort: backend.ports[portIndex] };
  }

  /** Place and track a new connection (UDP and not-yet-established TCP start inactive). */
  open(pkt: PacketKey, state: ConnState, now: number): Placement | null {
    const key = connKeyOf(pkt);
    const existing = this.connections.lookup(key);
    if (existing) return { backend: existing.backend, portIndex: existing.portIndex, softwarePort: existing.softwarePort };
    const placement = this.place(pkt, now);
    if (!placement) return null;
    this.connections.insert(key, placement.backend, placement.portIndex, state, now);
    this.persistence?.connectionOpened(pkt.srcIp, pkt.ip6, placement.backend, now);
    return placement;
  }

  /**
   * A FIN or RST of a tracked connection, seen at `now` (the datapath's copy of it). When it ends the
   * connection, the scheduler hears how long the connection lasted (first packet to end). null: unknown.
   */
  end(key: ConnKey, side: ConnSide, reset: boolean, now: number): EndOutcome | null {
    const seen = this.connections.markEnd(key, side, reset, now);
    if (!seen) return null;
    if (seen.outcome === 'ended') {
      this.persistence?.connectionClosed(key.clientIp, key.ip6, seen.entry.backend, now);
      this.scheduler.connectionEnded?.(seen.entry.backend, now - seen.entry.created, now);
    }
    return seen.outcome;
  }

  /** The connection is gone from the datapath (its flow was removed, the tracker dropped it). */
  close(key: ConnKey, now: number): boolean {
    const entry = this.connections.remove(key);
    if (!entry) return false;
    if (!entry.ended) this.persistence?.connectionClosed(key.clientIp, key.ip6, entry.backend, now);
    return true;
  }

  addBackend(spec: BackendSpec): Backend {
    if (this.backendById(spec.id)) throw new LbInputError('backend.id', `duplicate backend ${spec.id}`);
    const backend = new Backend(spec);
    this.replaceMembers([...this.members, backend]);
    return backend;
  }

  /** Established connections stay tracked (and counted) on the removed backend until they end. */
  removeBackend(id: string): void {
    this.requireBackend(id);
    this.replaceMembers(this.members.filter((b) => b.id !== id));
  }

  setWeight(id: string, weight: number): void {
    setWeight(this.requireBackend(id), weight);
    this.scheduler.onChange?.(this.members);
  }

  setThresholds(id: string, upper: number, lower: number): void {
    setThresholds(this.requireBackend(id), upper, lower);
    this.scheduler.onChange?.(this.members);
  }

  /** Health result: a down backend takes no new connections. */
  setAvailable(id: string, available: boolean): void {
    this.requireBackend(id).available = available;
  }

  private requireBackend(id: string): Backend {
    const backend = this.backendById(id);
    if (!backend) throw new LbInputError('backend.id', `no backend ${id} in this service`);
    return backend;
  }

  private replaceMembers(members: readonly Backend[]): void {
    this.members = members;
    this.scheduler.onChange?.(members);
  }
}
