import {
  Backend, BackendSpec, ConnState, type AddressFamily, PORT_OUT_HEALTH, PORT_OUT_HEALTH_IPV4, PORT_OUT_HEALTH_IPV6, PORT_OUT_OUTLIER, setPortOut, setThresholds, setWeight,
} from './backend';
import { connKeyText, type ConnKey } from './conn-key';
import { ConnectionTable, type ConnSide, type EndOutcome } from './conn-table';
import { LbInputError } from './errors';
import { DEFAULT_OUTLIER_OPTIONS, OutlierDetector, type OutlierChange, type OutlierOptions, type Outcome } from './outlier';
import { PersistenceOptions, PersistenceTable } from './persistence';
import { pickPortIndex } from './port-picker';
import { createScheduler, SchedulerOptions } from './registry';
import type { PacketKey, Scheduler } from './scheduler';

/**
 * The most refusals of datapath-placed connections remembered until the tracker's next reading: beyond it, the oldest
 * is forgotten and, should the listing still show that connection reset unanswered, counted a second time.
 */
const MAX_REFUSED_KEYS = 65_536;
/** Why a refusal read from the tracker's listing counts (tcpEnd: reset, and the backend's side never sent a SYN). */
const REFUSED_AT_READING = 'refused: the tracker lists it reset before the backend answered its SYN';

/** TCP's and UDP's protocol numbers (as connection keys carry them). */
const [IP_PROTO_TCP, IP_PROTO_UDP] = [6, 17];

export interface ServiceOptions {
  scheduler: string;
  schedulerOptions?: SchedulerOptions;
  /** Client affinity; omitted or timeoutMs 0 = off. */
  persistence?: PersistenceOptions;
  /** Passive outlier detection (TCP); omitted = off. */
  outlier?: OutlierSettings;
  /**
   * Backend pools (payload rules): pool name -> backend ids. A connection placed in a pool is scheduled among the
   * pool's members only, by a scheduler of the service's kind that the pool owns (its cursors and tables).
   */
  pools?: Readonly<Record<string, readonly string[]>>;
  /** How long an ended TCP connection still counts in the least-connection overhead (ms; DEFAULT_END_LINGER_MS). */
  endLingerMs?: number;
  /** How long the datapath keeps an ended connection (ms; Accounting.endedKeptMs): ConnectionTable.sweepEnded's wait. */
  endedKeptMs?: number;
}

/** A pool's members (the service's, in its order, that the pool names) and the scheduler that picks among them. */
interface Pool {
  ids: ReadonlySet<string>;
  members: readonly Backend[];
  scheduler: Scheduler;
}

/** The outlier detector's rules and what counts as a failed connection. */
export interface OutlierSettings extends OutlierOptions {
  /** A TCP connection not established this long after its first packet failed (judged at the accounting's reading). */
  connectTimeoutMs: number;
  /** A backend's RST this soon after the connection's first packet (no FIN from it before) is a failure. */
  resetWithinMs: number;
  /**
   * UDP: a flow its backend has not answered this long after its first packet failed, one it answered worked
   * (judged at the accounting's reading, when the accounting sees replies). 0 or absent: UDP is not judged.
   */
  udpReplyWithinMs?: number;
}

/** What a TCP service without an `outlier` section gets (the config schema's defaults, in milliseconds). */
export const DEFAULT_OUTLIER_SETTINGS: Readonly<OutlierSettings> = { ...DEFAULT_OUTLIER_OPTIONS, connectTimeoutMs: 2000, resetWithinMs: 1000 };

/** Where a new connection goes: the backend vNIC and the software port on it. */
export interface Placement {
  backend: Backend;
  portIndex: number;
  softwarePort: number;
}

/** The connection key of a packet. An IPv6 key shares the packet's address words (the table copies them on insert). */
export function connKeyOf(pkt: PacketKey): ConnKey {
  // Two literals rather than adding ip6 later: an IPv6 key is born with its final shape.
  return pkt.ip6 === undefined
    ? { proto: pkt.proto, clientIp: pkt.srcIp, clientPort: pkt.srcPort, vip: pkt.dstIp, vipPort: pkt.dstPort }
    : { proto: pkt.proto, clientIp: pkt.srcIp, clientPort: pkt.srcPort, vip: pkt.dstIp, vipPort: pkt.dstPort, ip6: pkt.ip6 };
}

/** One service's load-balancing state: members, scheduler, persistence, connections. Pure: the caller passes `now`. */
export class LbService {
  private current: Scheduler;
  readonly connections: ConnectionTable;
  private readonly persistence: PersistenceTable | null;
  private members: readonly Backend[];
  private readonly outlier: { detector: OutlierDetector; settings: OutlierSettings } | null;
  /**
   * Connections the datapath placed that their backend refused (refusedUntracked), by connKeyText, with when: the
   * tracker lists a refused connection as it lists one that closed (the userspace tracker's RST state is TIME_WAIT),
   * so its listing must not count it as one that worked (workedUntracked). Bounded: the oldest go first.
   */
  private readonly refusedKeys = new Map<string, number>();
  /** What the detector did since the caller last took it (takeOutlierChanges). */
  private outlierChanges: OutlierChange[] = [];
  private readonly pools = new Map<string, Pool>();
  /** See takersVersion. */
  private takersChanges = 0;

  private schedulerName: string;
  private schedulerOptions: SchedulerOptions | undefined;

  constructor(backends: readonly (Backend | BackendSpec)[], opts: ServiceOptions) {
    this.schedulerName = opts.scheduler;
    this.schedulerOptions = opts.schedulerOptions;
    this.current = createScheduler(opts.scheduler, opts.schedulerOptions);
    this.connections = new ConnectionTable(undefined, { endLingerMs: opts.endLingerMs, endedKeptMs: opts.endedKeptMs });
    this.members = backends.map((b) => (b instanceof Backend ? b : new Backend(b)));
    const ids = new Set<string>();
    for (const b of this.members) {
      if (ids.has(b.id)) throw new LbInputError('backend.id', `duplicate backend ${b.id}`);
      ids.add(b.id);
    }
    this.persistence = opts.persistence && opts.persistence.timeoutMs > 0 ? new PersistenceTable(opts.persistence) : null;
    this.outlier = opts.outlier ? { detector: new OutlierDetector(opts.outlier), settings: opts.outlier } : null;
    this.outlier?.detector.setMembers(this.members, 0);
    for (const [name, ids] of Object.entries(opts.pools ?? {})) {
      const set = new Set(ids);
      this.pools.set(name, { ids: set, members: this.members.filter((b) => set.has(b.id)), scheduler: createScheduler(opts.scheduler, opts.schedulerOptions) });
    }
    this.membersChanged();
  }

  get scheduler(): Scheduler { return this.current; }

  /** Another scheduler kind or options, the pools' too: connections, counts and persistence stay (and their flows). */
  setScheduler(name: string, options: SchedulerOptions | undefined): void {
    [this.schedulerName, this.schedulerOptions] = [name, options];
    this.current = createScheduler(name, options);
    for (const pool of this.pools.values()) pool.scheduler = createScheduler(name, options);
    this.membersChanged();
  }

  /** The service's scheduler and each pool's (the statistics feed reaches every feedback scheduler). */
  get schedulers(): Scheduler[] {
    return [this.scheduler, ...[...this.pools.values()].map((p) => p.scheduler)];
  }

  /**
   * The pools' backend ids again (backends came, went or changed tags): each pool keeps its scheduler (cursors,
   * tables) and takes its new members; a pool not named before gets a fresh scheduler, one left out is dropped.
   */
  setPools(pools: Readonly<Record<string, readonly string[]>>): void {
    for (const name of [...this.pools.keys()]) if (!(name in pools)) this.pools.delete(name);
    for (const [name, ids] of Object.entries(pools)) {
      const set = new Set(ids);
      const members = this.members.filter((b) => set.has(b.id));
      const pool = this.pools.get(name);
      // Unchanged members keep their array, so the pool's scheduler keeps its tables.
      if (pool && members.length === pool.members.length && members.every((b, i) => b === pool.members[i])) {
        pool.ids = set;
        continue;
      }
      const next = { ids: set, members, scheduler: pool?.scheduler ?? createScheduler(this.schedulerName, this.schedulerOptions) };
      this.pools.set(name, next);
      next.scheduler.onChange?.(members);
    }
  }

  /** A pool's members now (for status and tests); undefined for a pool the service does not have. */
  poolMembers(pool: string): readonly Backend[] | undefined {
    return this.pools.get(pool)?.members;
  }

  get backends(): readonly Backend[] {
    return this.members;
  }

  backendById(id: string): Backend | undefined {
    return this.members.find((b) => b.id === id);
  }

  /**
   * Choose backend and software port for a new connection, among a pool's members when `pool` is given (a client's
   * persistent backend counts only when it is in the pool); null when no backend can take it.
   */
  place(pkt: PacketKey, now: number, pool?: string): Placement | null {
    const within = pool === undefined ? undefined : this.pools.get(pool);
    if (pool !== undefined && !within) throw new LbInputError('pool', `no pool ${pool} in this service`);
    const members = within ? within.members : this.members;
    this.connections.expireLingering(now);
    // The template stays when its backend is outside this pool: the client's flows in its own pool keep it.
    let persistent = this.persistence?.lookup(pkt.srcIp, pkt.ip6, this.members, now) ?? null;
    if (persistent && within && !within.ids.has(persistent.id)) persistent = null;
    const backend = persistent ?? (within ? within.scheduler : this.scheduler).pick(members, pkt, now);
    if (!backend) return null;
    const portIndex = pickPortIndex(backend, pkt.ip6 !== undefined);
    return { backend, portIndex, softwarePort: backend.ports[portIndex] };
  }

  /**
   * Place and track a new connection, in `pool` when given: the caller says how it counts (the packet-in path: TCP
   * active from its first packet, as IPVS counts SYN_RECV; UDP inactive).
   */
  open(pkt: PacketKey, state: ConnState, now: number, pool?: string): Placement | null {
    const key = connKeyOf(pkt);
    const existing = this.connections.lookup(key);
    if (existing) return { backend: existing.backend, portIndex: existing.portIndex, softwarePort: existing.softwarePort };
    return this.openUntracked(key, pkt, state, now, pool);
  }

  /**
   * open() for a connection whose `key` (as `pkt`) the caller has just looked up and not found: the packet-in path
   * (no second lookup, no key object; the table copies the key, so a scratch key may be reused). `hash`: its hashConnKey.
   */
  openUntracked(key: ConnKey, pkt: PacketKey, state: ConnState, now: number, pool?: string, hash?: number): Placement | null {
    const placement = this.place(pkt, now, pool);
    if (!placement) return null;
    if (!this.connections.insert(key, placement.backend, placement.portIndex, state, now, hash)) {
      throw new LbInputError('conn', 'openUntracked: the connection is already tracked (look it up first, or call open)');
    }
    this.persistence?.connectionOpened(pkt.srcIp, pkt.ip6, placement.backend, now);
    if (key.proto === IP_PROTO_TCP) this.outlier?.detector.placed(placement.backend.id, placement.portIndex, now);
    return placement;
  }

  /**
   * A pure SYN on an ended connection whose backend still takes new ones (a reused client port): the same backend serves
   * it (placing it anew was taken for the backend's failure). Counted again from `now`. False: unknown or not ended.
   */
  reopen(key: ConnKey, now: number): boolean {
    const entry = this.connections.reopen(key, now);
    if (!entry) return false;
    this.persistence?.connectionOpened(key.clientIp, key.ip6, entry.backend, now);
    return true;
  }

  /**
   * A FIN or RST of a tracked connection, seen at `now` (the datapath's copy of it). When it ends the
   * connection, the scheduler hears how long the connection lasted (first packet to end), if vadc saw its first
   * packet: one adopted later (a datapath decision learnt at a tracker reading, a restore) would be measured short.
   * null: unknown.
   */
  end(key: ConnKey, side: ConnSide, reset: boolean, now: number): EndOutcome | null {
    const seen = this.connections.markEnd(key, side, reset, now);
    if (!seen) return null;
    if (seen.outcome === 'ended') {
      this.persistence?.connectionClosed(key.clientIp, key.ip6, seen.entry.backend, now);
      const backend = seen.entry.backend;
      if (seen.entry.timed) {
        this.scheduler.connectionEnded?.(backend, now - seen.entry.created, now);
        for (const p of this.pools.values()) if (p.ids.has(backend.id)) p.scheduler.connectionEnded?.(backend, now - seen.entry.created, now);
      }
    }
    // The backend's own FIN or RST says how the connection went; the client's says nothing about the backend.
    if (this.outlier && side === 'backend' && !seen.entry.judged) {
      const age = now - seen.entry.created;
      this.connections.markJudged(key);
      if (!reset) this.observe(seen.entry.backend, seen.entry.portIndex, { ok: true }, now);
      else if (age <= this.outlier.settings.resetWithinMs) {
        const family = key.ip6 === undefined ? 'ipv4' : 'ipv6';
        this.observe(seen.entry.backend, seen.entry.portIndex, { ok: false, reason: `reset by the backend ${age} ms after the first packet`, family }, now);
      }
    }
    return seen.outcome;
  }

  /**
   * After an accounting reading (the tracker's states, the flows' counters): open TCP connections seen
   * established worked, those not established connectTimeoutMs after their first packet failed; UDP flows too when
   * the settings ask (udpReplyWithinMs) and the reading can tell a reply (`seesReplies`: flows mode's reverse flow).
   */
  judgeOpenConnections(now: number, seesReplies = false): void {
    const outlier = this.outlier;
    if (!outlier) return;
    const timeout = outlier.settings.connectTimeoutMs;
    const udpWithin = seesReplies ? outlier.settings.udpReplyWithinMs ?? 0 : 0;
    this.connections.judgeOpen(now, timeout, (backend, portIndex, ok, age, proto, ipv6) => {
      const reason = proto === IP_PROTO_UDP
        ? `no reply ${Math.round(age)} ms after the first datagram (udp_reply_within ${udpWithin} ms)`
        : `not established ${Math.round(age)} ms after the first packet (connect timeout ${timeout} ms)`;
      this.observe(backend, portIndex, ok ? { ok: true } : { ok: false, reason, family: ipv6 ? 'ipv6' : 'ipv4' }, now);
    }, udpWithin);
    // Failures counted since the last reading are judged after its successes (OutlierOptions.judgeAtReadings).
    this.applyOutlier(outlier.detector.reading(now));
  }

  /**
   * The accounting's reading shows that this tracked connection worked though it had already closed (the tracker
   * lists it closing: it ended between two readings): a success of its port, unless its outcome was judged already
   * (e.g. its backend's early RST). False: unknown, judged before, or no outlier detection.
   */
  workedAtReading(key: ConnKey, now: number): boolean {
    const entry = this.outlier ? this.connections.lookup(key) : null;
    if (!entry || entry.judged) return false;
    this.connections.markJudged(key);
    this.observe(entry.backend, entry.portIndex, { ok: true }, now);
    return true;
  }

  /**
   * A connection the datapath placed, which vadc never tracked, worked (the tracker's reading lists it closed after
   * its sides exchanged FINs): a success of the backend's port, unless its backend refused it (refusedUntracked with
   * its key). False when not counted.
   */
  workedUntracked(key: ConnKey, backendId: string, softwarePort: number, now: number): boolean {
    const port = this.judgedPort(backendId, softwarePort);
    if (!port) return false;
    if (this.refusedKeys.delete(connKeyText(key))) return false;
    this.observe(port.backend, port.portIndex, { ok: true }, now);
    return true;
  }

  /**
   * The accounting's reading lists this tracked connection reset before its backend answered (tcpEnd 'refused'): a
   * failure of its port, unless its outcome was judged already (its backend's RST copy) or the RST copy came while
   * vadc did not track it yet (refusedUntracked's key). `at`: when the reading was asked for. False when not counted.
   */
  refusedAtReading(key: ConnKey, at: number): boolean {
    const entry = this.outlier ? this.connections.lookup(key) : null;
    if (!entry || entry.judged) return false;
    this.connections.markJudged(key);
    if (this.refusedKeys.delete(connKeyText(key))) return false;
    this.observe(entry.backend, entry.portIndex, { ok: false, reason: REFUSED_AT_READING, family: key.ip6 === undefined ? 'ipv4' : 'ipv6' }, at);
    return true;
  }

  /** As refusedAtReading, for a connection the datapath placed that vadc never tracked (workedUntracked's opposite). */
  refusedUntrackedAtReading(key: ConnKey, backendId: string, softwarePort: number, at: number): boolean {
    const port = this.judgedPort(backendId, softwarePort);
    if (!port) return false;
    if (this.refusedKeys.delete(connKeyText(key))) return false;
    this.observe(port.backend, port.portIndex, { ok: false, reason: REFUSED_AT_READING, family: key.ip6 === undefined ? 'ipv4' : 'ipv6' }, at);
    return true;
  }

  /** A backend's port by its software port, when the outlier detector judges this service's connections. */
  private judgedPort(backendId: string, softwarePort: number): { backend: Backend; portIndex: number } | null {
    const backend = this.backendById(backendId);
    const portIndex = backend ? backend.ports.indexOf(softwarePort) : -1;
    return this.outlier && backend && portIndex >= 0 ? { backend, portIndex } : null;
  }

  /** Refusals older than `before` are forgotten (a reading asked for after them has listed them). */
  forgetRefusals(before: number): void {
    for (const [key, at] of this.refusedKeys) {
      if (at >= before) break;
      this.refusedKeys.delete(key);
    }
  }

  /**
   * A backend refused a connection vadc does not track: its RST answering the SYN of a connection the datapath
   * placed (`decisions: datapath`: the tracker's listing has not shown it yet). A failure of that port, as an early
   * reset of a tracked one is; an unknown backend or port changes nothing. `family`: the refused connection's.
   */
  refusedUntracked(backendId: string, softwarePort: number, family: AddressFamily, now: number, key?: ConnKey): void {
    const port = this.judgedPort(backendId, softwarePort);
    if (!port) return;
    const { backend, portIndex } = port;
    if (key) {
      if (this.refusedKeys.size >= MAX_REFUSED_KEYS) this.refusedKeys.delete(this.refusedKeys.keys().next().value!);
      this.refusedKeys.delete(connKeyText(key));
      this.refusedKeys.set(connKeyText(key), now);
    }
    this.observe(backend, portIndex, { ok: false, reason: 'the backend refused the connection (RST answering its SYN)', family }, now);
  }

  /** The outlier detector would eject a port if a reading showed no success on it (OutlierDetector.wantsReading). */
  get outlierWantsReading(): boolean {
    return this.outlier?.detector.wantsReading ?? false;
  }

  /** A reading at `now` would judge a silent port's unanswered connections (OutlierDetector.awaitsReading). */
  outlierAwaitsReading(now: number): boolean {
    return this.outlier?.detector.awaitsReading(now, this.outlier.settings.connectTimeoutMs) ?? false;
  }

  /** Ejections that ended: the probes now due (the caller connects to each port and reports outlierProbeResult). */
  outlierTick(now: number): Extract<OutlierChange, { kind: 'probe' }>[] {
    return this.applyOutlier(this.outlier?.detector.tick(now) ?? []);
  }

  /** A probe outlierTick asked for: passed (the port is back) or failed (ejected again, for longer). */
  outlierProbeResult(backendId: string, portIndex: number, ok: boolean, reason: string, now: number): void {
    this.applyOutlier(this.outlier?.detector.probeResult(backendId, portIndex, ok, reason, now) ?? []);
  }

  /** Ejections and re-admissions since the last call (for events), oldest first. */
  takeOutlierChanges(): OutlierChange[] {
    const changes = this.outlierChanges;
    if (changes.length) this.outlierChanges = [];
    return changes;
  }

  /** Ports ejected (or being probed) now. */
  ejectedPorts(): { backend: string; port: number; until: number; ejections: number }[] {
    return this.outlier?.detector.ejected() ?? [];
  }

  /**
   * A software port's active check verdict (src/health): a failing port takes no new connections. `family`: the
   * verdict of a dual-stack backend's check of one address, which keeps the port from that family's connections only
   * (without: the port's one verdict, for every connection).
   */
  setPortHealthy(id: string, softwarePort: number, healthy: boolean, family?: AddressFamily): void {
    const backend = this.requireBackend(id);
    const index = backend.ports.indexOf(softwarePort);
    if (index < 0) throw new LbInputError('backend.port', `backend ${id} has no software port ${softwarePort}`);
    const reason = family === undefined ? PORT_OUT_HEALTH : family === 'ipv6' ? PORT_OUT_HEALTH_IPV6 : PORT_OUT_HEALTH_IPV4;
    setPortOut(backend, index, reason, !healthy);
    this.membersChanged();
  }

  private observe(backend: Backend, portIndex: number, outcome: Outcome, now: number): void {
    this.applyOutlier(this.outlier!.detector.observe(backend.id, portIndex, outcome, now));
  }

  /**
   * Ejections and re-admissions become the ports' PORT_OUT_OUTLIER bit and wait in outlierChanges for the
   * caller's events; the probes are returned (the caller runs them).
   */
  private applyOutlier(changes: OutlierChange[]): Extract<OutlierChange, { kind: 'probe' }>[] {
    const probes: Extract<OutlierChange, { kind: 'probe' }>[] = [];
    let changed = false;
    for (const c of changes) {
      if (c.kind === 'probe') {
        probes.push(c);
        continue;
      }
      this.outlierChanges.push(c);
      const backend = this.backendById(c.backend);
      if (!backend) continue;
      if (c.kind === 'ejected') backend.outlierEjections++;
      setPortOut(backend, c.portIndex, PORT_OUT_OUTLIER, c.kind === 'ejected');
      changed = true;
    }
    if (changed) this.membersChanged();
    return probes;
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
    this.membersChanged();
  }

  setThresholds(id: string, upper: number, lower: number): void {
    setThresholds(this.requireBackend(id), upper, lower);
    this.membersChanged();
  }

  /** Health result: a down backend takes no new connections. */
  setAvailable(id: string, available: boolean): void {
    const backend = this.requireBackend(id);
    if (backend.available === available) return;
    backend.available = available;
    this.takersChanges++;
  }

  /**
   * Changes whenever which backends take new connections may have changed (members, weights, ports out, availability):
   * a caller that derives something from Backend.takesNew looks again only then.
   */
  get takersVersion(): number {
    return this.takersChanges;
  }

  private requireBackend(id: string): Backend {
    const backend = this.backendById(id);
    if (!backend) throw new LbInputError('backend.id', `no backend ${id} in this service`);
    return backend;
  }

  private replaceMembers(members: readonly Backend[]): void {
    this.members = members;
    this.outlier?.detector.setMembers(members, 0);
    for (const p of this.pools.values()) p.members = members.filter((b) => p.ids.has(b.id));
    this.membersChanged();
  }

  /** Members, weights, thresholds or ports out changed: every scheduler rebuilds its tables. */
  private membersChanged(): void {
    this.takersChanges++;
    this.scheduler.onChange?.(this.members);
    for (const p of this.pools.values()) p.scheduler.onChange?.(p.members);
  }
}
