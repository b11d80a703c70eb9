// Conntrack mode's default accounting: the tracker's listing of vadc's zone (read each statistics poll over
// ovs-vswitchd's unixctl socket) is the truth about which connections live; no per-connection flow at all.
import { isClosing, isEstablished, tcpEnd, type ConntrackEntry, type TcpEnd } from '../../flows/conntrack-dump';
import { IP_PROTO_TCP, IP_PROTO_UDP } from '../../flows/packets';
import { connKeyText as trackerKey, type ConnKey } from '../../lb/conn-key';
import type { ConnRecord } from '../../lb/conn-slots';
import { formatIpv6Source } from '../../net/ipv6';
import type { OfpMessage } from '../../openflow/types';
import type { BackendState, ServiceState } from '../services';
import { backendAt, backendsByAddress, type BackendAt } from './common';
import { askedAtOf, runSteps, type Accounting, type AccountingInput, type RestoreResult } from './nat-mode';
import { OVS_CLOSED_TCP_TIMEOUT_S } from './tracker-timeouts';

/**
 * A closing TCP entry's outcome for the outlier detector (tcpEnd: the sides' states and window scaling of the -m
 * listing). `worked`: a success; `refused`: a failure unless vadc saw its backend's RST copy (judged, or
 * refusedUntracked's key: counted once); `unknown` (a reset the listing cannot tell, the kernel's CLOSED): neither.
 */
const endOf = (e: ConntrackEntry): TcpEnd => (isClosing(e) ? tcpEnd(e) : 'unknown');

/** The connection key of a tracker entry's original direction (client -> VIP). */
function origKey(e: ConntrackEntry): ConnKey {
  const k: ConnKey = { proto: e.proto === 'tcp' ? IP_PROTO_TCP : IP_PROTO_UDP, clientIp: e.orig.src, clientPort: e.orig.sport, vip: e.orig.dst, vipPort: e.orig.dport };
  if (e.orig.ip6) k.ip6 = e.orig.ip6;
  return k;
}

/** A datapath-decided connection: its 5-tuple and the backend the tracker sent it to. */
const decidedKey = (e: ConntrackEntry): string => `${trackerKey(origKey(e))}/${e.reply.src}`;

/** A reading as adopt sees it for datapath decisions: its number, and where it marks the entries apply may skip. */
interface DecidedReading {
  reading: number;
  /** 1 at an entry whose end an earlier reading applied. */
  handled: Uint8Array;
}

/** Where a tracker entry's reply comes from: the backend's address and software port. */
function replySource(e: ConntrackEntry): BackendAt {
  return backendAt(e.reply.ip6 ? formatIpv6Source(e.reply.ip6) : e.reply.src, e.reply.sport);
}

/** A service as the tracker names it: its id (ct_mark's high half) and protocol. */
const markOf = (serviceId: number, l4: 'tcp' | 'udp'): number => serviceId * 2 + (l4 === 'udp' ? 1 : 0);

export class TrackerAccounting implements Accounting {
  readonly source = 'tracker' as const;
  readonly restoresFrom = 'the connection tracker';
  /** The userspace tracker's listing has no reply counters or SEEN_REPLY status for UDP (only TCP's state). */
  readonly seesReplies = false;
  /** A connection that worked is in the listing (established, or closed after it worked): no FIN copy is needed. */
  readonly readsSuccesses = true;
  readonly endedKeptMs: number;

  /**
   * Datapath-decided connections already counted, by 5-tuple and backend, while the tracker lists them: the reading
   * that last listed each, and whether its end (a closing entry) was applied. A closed connection stays in the listing
   * for the zone's close timeout, read every poll meanwhile (2-3 times by vadc's default policy; 5,000-9,000 entries
   * a listing in the bench's latency phase): once its end is applied, the later readings skip it.
   */
  private readonly seen = new Map<string, { listedIn: number; endApplied: boolean }>();
  /** The number of the last reading applied (connections it listed are marked with it in the tables). */
  private reading = 0;

  /**
   * @param zone vadc's conntrack zone: entries of other zones are someone else's.
   * @param graceMs a connection the tracker does not list yet is kept this long (its commit may be on its way).
   * @param ends `fromCopies`: datapath.end_copies is on, so the listing is a backstop (see showsEndsSoon);
   *   `keptMs`: the zone's close timeout (trackerKeepsClosedMs), how long the tracker keeps an ended connection.
   */
  constructor(
    private readonly zone: number, private readonly graceMs = 2000,
    private readonly ends: { fromCopies: boolean; keptMs: number } = { fromCopies: false, keptMs: OVS_CLOSED_TCP_TIMEOUT_S * 1000 },
  ) {
    this.endedKeptMs = ends.keptMs;
  }

  /**
   * Without end copies, a closed connection is listed closing (or no longer listed) at the next poll: the listing is
   * read at least once per close timeout for it (the daemon's listingSpacingLimit). With them, a controller-decided TCP
   * service gets both sides' FINs copied (endCopySides), its ends and a short connection's success come at once
   * (endsFromCopies), and the listing, spaced by datapath.listing_share up to a minute, is the backstop for what no
   * copy told.
   */
  showsEndsSoon(service: ServiceState): boolean {
    return !this.endsFromCopies(service);
  }

  /**
   * End copies on (`fromCopies`, the factory's one reading of datapath.end_copies) and a controller-decided TCP
   * service. A datapath-decided service has no packet-in of its own (its counts and outcomes come from the listing)
   * and a UDP flow has no end to copy: both need every ended connection from the listing.
   */
  endsFromCopies(service: Pick<ServiceState, 'l4' | 'config'>): boolean {
    return this.ends.fromCopies && service.l4 === 'tcp' && service.config.decisions !== 'datapath';
  }

  /** After a (re)connect: re-track the live connections the tracker holds (service id in ct_mark's high half, backend from the reply tuple). */
  restore(services: readonly ServiceState[], input: AccountingInput, now: number): RestoreResult {
    if (input.source !== 'tracker') return { msgs: [], restored: 0, orphans: 0 };
    return { msgs: [], restored: runSteps(this.adopt(services, input.entries, now, now, Infinity)), orphans: 0 };
  }

  /**
   * Tracks the live connections of `services` the tracker lists and vadc does not know yet; returns how many.
   * `decided`: they are new decisions of the datapath, counted as the controller counts its own, once each (`seen`),
   * including those that already ended between two readings (closing in the listing: counted, not tracked; a refusal
   * is judged as of `askedAt`, when the listing showing it was asked for).
   */
  private *adopt(
    services: readonly ServiceState[], entries: readonly ConntrackEntry[], now: number, askedAt: number, entriesPerSlice: number, decided?: DecidedReading,
  ): Generator<void, number, undefined> {
    // Indexed once per reading: a listing of 100,000 entries looks each one up, not a scan of services and backends.
    const byMark = new Map<number, { service: ServiceState; backends: Map<BackendAt, BackendState> }>();
    for (const service of services) byMark.set(markOf(service.id, service.l4), { service, backends: backendsByAddress(service) });
    let restored = 0;
    if (decided) for (const service of services) for (const member of service.lb.backends) member.listedNewOpen = 0;
    for (let i = 0; i < entries.length; i++) {
      if (i > 0 && i % entriesPerSlice === 0) yield;
      const e = entries[i];
      if (e.zone !== this.zone || (!decided && isClosing(e))) continue;
      const found = byMark.get(markOf(e.mark >>> 16, e.proto));
      const backend = found?.backends.get(replySource(e));
      if (!found || !backend) continue;
      const { service } = found;
      if (decided) {
        const key = decidedKey(e);
        const known = this.seen.get(key);
        if (known) {
          known.listedIn = decided.reading;
          // An end applied at an earlier reading: nothing left to do with this entry (apply skips it).
          if (!isClosing(e)) known.endApplied = false;
          else if (known.endApplied) decided.handled[i] = 1;
          else known.endApplied = true;
          continue;
        }
        this.seen.set(key, { listedIn: decided.reading, endApplied: isClosing(e) });
        service.decisions++;
        backend.totalConns++;
        const member = service.lb.backendById(backend.config.name);
        if (member && !isClosing(e)) member.listedNewOpen++;
        if (isClosing(e)) {
          if (member) member.completedConns++;
          // Opened and closed between two readings: the outlier detector's only sight of it (`seen`: counted once).
          const end = endOf(e);
          if (end === 'worked') service.lb.workedUntracked(origKey(e), backend.config.name, e.reply.sport, now);
          else if (end === 'refused') service.lb.refusedUntrackedAtReading(origKey(e), backend.config.name, e.reply.sport, askedAt);
          continue;
        }
      }
      // Written out, not spread from origKey: an object spread per entry was most of a 100,000-entry restore.
      const record: ConnRecord = {
        proto: service.proto, clientIp: e.orig.src, clientPort: e.orig.sport, vip: e.orig.dst, vipPort: e.orig.dport,
        backendId: backend.config.name, softwarePort: e.reply.sport,
        state: e.proto === 'tcp' && isEstablished(e) ? 'active' : 'inactive', created: now, lastSeen: now,
      };
      if (e.orig.ip6) record.ip6 = e.orig.ip6;
      if (service.lb.connections.has(record)) continue;
      // A datapath decision is judged by the outlier detector from this first sight on (its state at later readings);
      // a restored connection belongs to its past.
      if (service.lb.connections.import([record], (id) => service.lb.backendById(id), { judge: decided !== undefined }).imported) restored++;
    }
    return restored;
  }

  /**
   * A TCP connection counts as active once ESTABLISHED; one that is closing (and was opened before the listing was
   * asked for), or that the tracker no longer has (older than the grace when the listing was asked for), is closed. A connection opened while the listing
   * was being made is not in it: judged by the time of arrival, a listing that took longer than the grace closed
   * every connection opened meanwhile (100,000 held: vadc tracked 76,366 of them, the tracker all).
   */
  *apply(services: readonly ServiceState[], input: AccountingInput, now: number, entriesPerSlice: number): Generator<void, number, undefined> {
    if (input.source !== 'tracker') return 0;
    const askedAt = askedAtOf(input, now);
    const reading = this.nextReading();
    // Connections the datapath decided (a select group committed them) are learnt here, from the listing.
    const decidedInDatapath = services.filter((s) => s.config.decisions === 'datapath');
    const handled = decidedInDatapath.length ? new Uint8Array(input.entries.length) : undefined;
    if (handled) {
      yield* this.adopt(decidedInDatapath, input.entries, now, askedAt, entriesPerSlice, { reading, handled });
      // Forget what the tracker no longer lists (bounded by the listing).
      for (const [key, known] of this.seen) if (known.listedIn !== reading) this.seen.delete(key);
    }
    // Each entry is looked up in the table of the service its mark names (one lookup, no string, no record copy:
    // 100,000 connections a poll); a closing one is closed at once, and whatever the listing did not name is closed
    // once older than the grace. A connection listed under another service's mark is not its own: closed by the grace.
    const byId = new Map(services.map((s) => [s.id, s]));
    let closed = 0;
    const { entries } = input;
    for (let i = 0; i < entries.length; i++) {
      if (i > 0 && i % entriesPerSlice === 0) yield;
      const e = entries[i];
      if (e.zone !== this.zone || handled?.[i]) continue;
      const service = byId.get(e.mark >>> 16);
      if (!service) continue;
      const key = origKey(e);
      if (isClosing(e)) {
        // A closing entry of a 5-tuple that a new connection took after the listing was asked for (a reused client
        // port) is the old connection's: the new one stays.
        if ((service.lb.connections.lookup(key)?.created ?? -Infinity) > askedAt) continue;
        // One that ended between two readings was never seen established: this is the detector's sight of it.
        const end = endOf(e);
        if (end === 'worked') service.lb.workedAtReading(key, now);
        else if (end === 'refused') service.lb.refusedAtReading(key, askedAt);
        if (service.lb.close(key, now)) closed++;
      } else {
        service.lb.connections.sighted(key, reading, now, e.proto === 'tcp' && isEstablished(e));
      }
    }
    for (const service of services) {
      for (const key of service.lb.connections.unsighted(reading, askedAt - this.graceMs)) {
        if (service.lb.close(key, now)) closed++;
      }
      // A refusal before this listing was asked for is in it (or gone): its key has done its work.
      service.lb.forgetRefusals(askedAt - this.graceMs);
    }
    return closed;
  }

  private nextReading(): number {
    // 0 means "never listed" in the tables; wraps after 2^32 - 1 readings.
    this.reading = this.reading >= 0xffffffff ? 1 : this.reading + 1;
    return this.reading;
  }

  /** No connection has a flow of its own in this accounting. */
  flowRemoved(): OfpMessage[] {
    return [];
  }
}
