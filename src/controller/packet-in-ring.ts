// Controller HA: a standby's recent packet-ins. The standby asks for packet-ins too (ASYNC_CONFIG) and keeps the last
// ones here, sending nothing. A packet-in that reached only a master that then died (or hung) is otherwise lost, and
// its client retransmits the SYN only after its 1 s initial RTO; the new master replays what it holds instead, once it
// knows (from the datapath) which connections the old master placed. Pure: every input takes `now`.
import type { PacketIn } from '../openflow/types';

/** How much a ring holds: at most `maxCount` packet-ins, none older than `maxAgeMs`. */
export interface PacketInRingBounds {
  maxCount: number;
  maxAgeMs: number;
}

/**
 * 1 s: a SYN older than that has been retransmitted by its client already (Linux's initial RTO), so replaying it
 * gains nothing. The age is taken at the mastership (holdFrom), not at the replay: the gap's packet-ins wait for the
 * restore's reading, which takes 0.1-2 s on a loaded host, and judged at the replay they were dropped as too old
 * (2026-12-06: a SIGSTOP takeover at load ~8 replayed 2,092 ms after MASTER, dropped 26 held SYNs as too old, and 34
 * new connections failed). 512: a new connection every 10 ms with ~2.5 packet-ins each (flows mode under load) for 1 s fits,
 * and at ~200 bytes a held SYN the ring stays near 100 kB.
 */
export const PACKET_IN_RING_BOUNDS: PacketInRingBounds = { maxCount: 512, maxAgeMs: 1000 };

export interface HeldPacketIn {
  msg: PacketIn;
  /** When it arrived (ms). */
  at: number;
}

/** What the ring handed over at a takeover: the packet-ins young enough to replay, in arrival order, and what it let go. */
export interface TakenPacketIns {
  fresh: HeldPacketIn[];
  /** Held, but older than maxAgeMs when taken. */
  tooOld: number;
  /** Pushed out by newer ones (maxCount) within the last maxAgeMs before the take (counted per DROP_BUCKET_MS). */
  dropped: number;
}

/** The grain of the dropped count's window. */
const DROP_BUCKET_MS = 100;

export class PacketInRing {
  // A circular buffer: `start` is the oldest, `length` how many are held.
  private readonly slots: (HeldPacketIn | undefined)[];
  private start = 0;
  private length = 0;
  /** Drops per DROP_BUCKET_MS of their time, oldest first; none older than maxAgeMs + a bucket (so a few entries). */
  private drops: { bucket: number; n: number }[] = [];
  /** Since holdFrom: ages are taken at this time, not later (the count bound still holds). */
  private heldSince: number | undefined;

  constructor(private readonly bounds: PacketInRingBounds = PACKET_IN_RING_BOUNDS) {
    if (!(bounds.maxCount >= 1) || !(bounds.maxAgeMs >= 0)) throw new RangeError(`bad packet-in ring bounds ${JSON.stringify(bounds)}`);
    this.slots = new Array<HeldPacketIn | undefined>(bounds.maxCount);
  }

  get size(): number {
    return this.length;
  }

  push(msg: PacketIn, now: number): void {
    this.expire(now);
    if (this.length === this.bounds.maxCount) {
      this.slots[this.start] = undefined;
      this.start = (this.start + 1) % this.bounds.maxCount;
      this.length--;
      const bucket = Math.floor(now / DROP_BUCKET_MS);
      const last = this.drops[this.drops.length - 1];
      if (last?.bucket === bucket) last.n++;
      else this.drops.push({ bucket, n: 1 });
      this.forgetDrops(now);
    }
    // The frame is a view into the socket's read buffer (64 KB): a copy of its bytes keeps the bound near 100 kB,
    // where views could pin up to maxCount read buffers. Buffer.alloc, not Buffer.from: small copies share 8 KB pool slabs.
    const data = Buffer.alloc(msg.data.length);
    msg.data.copy(data);
    this.slots[(this.start + this.length) % this.bounds.maxCount] = { msg: { ...msg, data }, at: now };
    this.length++;
  }

  /**
   * The replay will come: from now on the ring ages its packet-ins as of `now` (no later), so that those held for the
   * replay are not let go while the new master reads the datapath. Until take or clear.
   */
  holdFrom(now: number): void {
    this.heldSince ??= now;
  }

  /** No replay will come (this instance is a standby again): ages are taken at each call's `now` again. */
  release(): void {
    this.heldSince = undefined;
  }

  /**
   * Empties the ring: the packet-ins no older than maxAgeMs at `now` (or at holdFrom's time, if earlier), oldest first,
   * and the counts of the others.
   */
  take(now: number): TakenPacketIns {
    const tooOld = this.expire(now);
    const fresh: HeldPacketIn[] = [];
    for (let i = 0; i < this.length; i++) fresh.push(this.slots[(this.start + i) % this.bounds.maxCount]!);
    this.forgetDrops(now);
    const dropped = this.drops.reduce((sum, d) => sum + d.n, 0);
    this.clear();
    return { fresh, tooOld, dropped };
  }

  clear(): void {
    this.slots.fill(undefined);
    this.start = 0;
    this.length = 0;
    this.drops = [];
    this.heldSince = undefined;
  }

  /** Drops older than maxAgeMs lost nothing a takeover could still replay. */
  private forgetDrops(at: number): void {
    const now = this.agedAt(at);
    while (this.drops.length > 0 && (this.drops[0].bucket + 1) * DROP_BUCKET_MS <= now - this.bounds.maxAgeMs) this.drops.shift();
  }

  /** The time ages are taken at: `now`, or the hold's start once the replay is awaited. */
  private agedAt(now: number): number {
    return this.heldSince === undefined ? now : Math.min(now, this.heldSince);
  }

  /** Lets go of the packet-ins older than maxAgeMs; returns how many. */
  private expire(at: number): number {
    const now = this.agedAt(at);
    let n = 0;
    while (this.length > 0 && now - this.slots[this.start]!.at > this.bounds.maxAgeMs) {
      this.slots[this.start] = undefined;
      this.start = (this.start + 1) % this.bounds.maxCount;
      this.length--;
      n++;
    }
    return n;
  }
}

/** What a takeover's replay did with the packet-ins the standby held. */
export interface ReplayReport {
  /** Went through the packet-in path (end copies apart). */
  replayed: number;
  /** Connection-end copies (a FIN or RST the switch forwarded itself) that went through the path: they only end connections. */
  ends: number;
  /** Skipped: their connection is known (the old master answered them: the datapath holds its decision). */
  known: number;
  /** Skipped: older than the ring's age bound when taken. */
  tooOld: number;
  /**
   * Lost: pushed out by the ring's count bound within the age bound before the takeover. It can exceed the count bound
   * by far: the switch sent more than maxCount packet-ins in that second (a busy standby, or a storm).
   */
  dropped: number;
  /**
   * The last REPLAY_CLIENTS_LISTED replayed ones (end copies apart) as their senders' "address:port" (TCP/UDP), oldest
   * first: the newest are the gap's, which no one else answered.
   */
  clients: string[];
}

export const REPLAY_CLIENTS_LISTED = 32;

/** What the application says of a held packet-in: whether its connection is known, and who sent it (for the report). */
export interface HeldVerdict {
  known: boolean;
  client?: string;
  /** A connection-end copy: replayed (the connection ended), counted apart. */
  end?: boolean;
}

/**
 * The replay decision: in arrival order, each held packet-in whose connection is not known is answered through the
 * normal packet-in path (`answer`); the known ones are skipped: the old master answered them, and the packet-in path
 * would only send them to their backend a second time (it never decides a known connection again).
 */
export function replayHeld(taken: TakenPacketIns, verdict: (msg: PacketIn) => HeldVerdict, answer: (msg: PacketIn) => void): ReplayReport {
  const report: ReplayReport = { replayed: 0, ends: 0, known: 0, tooOld: taken.tooOld, dropped: taken.dropped, clients: [] };
  for (const { msg } of taken.fresh) {
    const v = verdict(msg);
    if (v.known) {
      report.known++;
      continue;
    }
    if (v.end) {
      report.ends++;
      answer(msg);
      continue;
    }
    report.replayed++;
    if (v.client !== undefined) {
      report.clients.push(v.client);
      if (report.clients.length > REPLAY_CLIENTS_LISTED) report.clients.shift();
    }
    answer(msg);
  }
  return report;
}
