import { Backend, bindConnection, changeConnectionState, ConnState, unbindConnection } from './backend';
import { hashConnKey, hashKey, hashKey6, hashKey6Split, type ConnKey } from './conn-key';
import * as slots from './conn-slots';
import { ConnSlots, type ConnEntry, type ConnRecord } from './conn-slots';
import { EndLingerRing } from './end-linger';
import { TimeRing } from './time-ring';
import { LbInputError } from './errors';
import type { Ipv6Pair } from '../net/ipv6';

// The slot constants as this module's own: a use of an imported binding compiles to a load from the other module's
// `exports` (11 Ir more per IPv4 connection in the connection-table micro, callgrind).
const {
  ADOPTED, CLOSE_BITS, ENDED, ESTABLISHED, FAMILY6, FIN_BACKEND, FIN_CLIENT, JUDGED, NO_SLOT, REPLIED, STATE_ACTIVE, STATE_INACTIVE, WORDS6,
} = slots;

/** Which side of a connection sent a FIN or RST. */
export type ConnSide = 'client' | 'backend';

/** What a FIN or RST did to a tracked connection. */
export type EndOutcome =
  /** The first FIN: the connection is closing, counted inactive (IPVS's FIN_WAIT/CLOSE_WAIT). */
  | 'closing'
  /** The other side's FIN, or a RST: the connection ended now; its backend no longer counts it. */
  | 'ended'
  /** Nothing new (a retransmitted FIN, a copy after the end). */
  | 'unchanged';

/** The TCP and UDP protocol numbers, as stored in proto[] (low byte). */
const TCP = 6;
const UDP = 17;

/**
 * The connection table: key -> slot in parallel typed arrays (structure of arrays, so 1,000,000
 * connections cost a few dozen bytes each, no object per connection: ConnSlots). The index is an open-addressing
 * hash table of slot numbers (linear probing, backward-shift deletion) that compares the 5-tuple in the
 * slot arrays, so a lookup builds no key. O(1) insert, lookup, remove; a doubly linked list over the
 * slots keeps insertion order for export(). Every change keeps the backend's active/inactive/per-port
 * counters, and so OVERLOAD, in step.
 */
export class ConnectionTable extends ConnSlots {
  /**
   * The hash index: bucket b is [2b] = slot + 1 (0 = empty) and [2b + 1] = the key's hash, side by side
   * so a probe compares hashes in one cache line and reads the slot arrays only on a hash match. The
   * bucket count is a power of two at least twice the live count.
   */
  private buckets = new Int32Array(2 * 64);
  private count = 0;
  /** Ended connections still counted in their backends' overhead (lc's IPVS TIME_WAIT/CLOSE, see end-linger.ts). */
  private readonly lingerRing: EndLingerRing;
  /**
   * Ended connections' slots, each at the time it ended (lastSeen), in that order: sweepEnded lets go of those the
   * datapath has let go of. Only where the datapath keeps an ended connection for a known time (`endedKeptMs`).
   */
  private readonly endedRing?: TimeRing;
  private readonly endedKeptMs: number;

  /**
   * Starts small (64 slots, ~3.5 KB) and doubles as it fills: a 1,000-service configuration used to allocate 55 MB of
   * zeroed slot arrays (1,024 slots each) on the apply's turn, most for services that never hold a connection.
   */
  /**
   * `endedKeptMs`: how long the datapath keeps an ended connection (Accounting.endedKeptMs, the tracker's close
   * timeout); set, sweepEnded lets go of ended entries that much older (unset: they stay until remove).
   */
  constructor(initialCapacity = 64, opts: { endLingerMs?: number; endedKeptMs?: number } = {}) {
    super(initialCapacity);
    this.lingerRing = new EndLingerRing(this.backendRefs, opts.endLingerMs);
    this.endedKeptMs = opts.endedKeptMs ?? Infinity;
    if (!(this.endedKeptMs >= 0)) throw new LbInputError('conn.endedKeptMs', `expected a time >= 0 in ms, got ${opts.endedKeptMs}`);
    if (Number.isFinite(this.endedKeptMs)) this.endedRing = new TimeRing();
  }

  get size(): number {
    return this.count;
  }

  has(key: ConnKey): boolean {
    return this.find(key) !== NO_SLOT;
  }

  /**
   * Track a new connection on `backend`'s port `portIndex`; false if the key is already tracked. `keyHash`: the key's
   * hashConnKey, when the caller has it from a lookup of the same key (a new connection's packet-in hashes once).
   */
  insert(key: ConnKey, backend: Backend, portIndex: number, state: ConnState, now: number, keyHash = hashConnKey(key)): boolean {
    if (!Number.isInteger(portIndex) || portIndex < 0 || portIndex >= backend.ports.length) {
      throw new LbInputError('conn.portIndex', `backend ${backend.id} has no port index ${portIndex}`);
    }
    // One probe finds either the key (already tracked) or the empty bucket where it goes.
    if ((this.count + 1) * 4 > this.buckets.length) this.rehash(this.buckets.length);
    const mask = (this.buckets.length >> 1) - 1;
    const hash = keyHash | 0;
    let bucket = hash & mask;
    for (; this.buckets[2 * bucket] !== 0; bucket = (bucket + 1) & mask) {
      if (this.buckets[2 * bucket + 1] === hash && this.matches(this.buckets[2 * bucket] - 1, key)) return false;
    }
    const slot = this.allocate();
    this.proto[slot] = key.ip6 === undefined ? key.proto : key.proto | FAMILY6;
    if (key.ip6 !== undefined) {
      // Allocated with the first IPv6 connection: an IPv4-only table carries no address words.
      if (this.ip6Words.length === 0) this.ip6Words = new Uint32Array(this.capacity * WORDS6);
      // Word by word (a subarray view of the key's words would be an allocation per connection), written out.
      const words = this.ip6Words;
      const ip6 = key.ip6;
      const at = slot * WORDS6;
      words[at] = ip6.s0;
      words[at + 1] = ip6.s1;
      words[at + 2] = ip6.s2;
      words[at + 3] = ip6.s3;
    }
    this.clientIp[slot] = key.clientIp;
    this.clientPort[slot] = key.clientPort;
    this.vip[slot] = key.ip6 === undefined ? key.vip : this.vips.intern(key.ip6.d0, key.ip6.d1, key.ip6.d2, key.ip6.d3);
    this.vipPort[slot] = key.vipPort;
    this.backendOf[slot] = this.intern(backend);
    this.portIndex[slot] = portIndex;
    this.state[slot] = state === 'active' ? STATE_ACTIVE : STATE_INACTIVE;
    this.created[slot] = now;
    this.lastSeen[slot] = now;
    this.closing[slot] = 0;
    this.listedIn[slot] = 0;
    this.buckets[2 * bucket] = slot + 1;
    this.buckets[2 * bucket + 1] = hash;
    this.count++;
    this.link(slot);
    bindConnection(backend, state, portIndex);
    return true;
  }

  /** `hash`: the key's hashConnKey (passed on to insert when the key is not tracked: see insert). */
  lookup(key: ConnKey, hash?: number): ConnEntry | null {
    const slot = hash === undefined ? this.find(key) : this.findHashed(key, hash | 0);
    return slot === NO_SLOT ? null : this.entryAt(slot);
  }

  /** Traffic seen on the connection (e.g. from flow stats). */
  touch(key: ConnKey, now: number): boolean {
    const slot = this.find(key);
    if (slot === NO_SLOT) return false;
    this.lastSeen[slot] = now;
    return true;
  }

  /**
   * A reading of the datapath (the tracker's listing, number `reading` > 0) lists the connection: it is remembered
   * as listed in that reading (see unsighted), seen at `now`, and `established` marks it established and makes an
   * inactive one active as setState does. One lookup, no object: a listing of 100,000 costs no garbage. False when
   * the key is not tracked.
   */
  sighted(key: ConnKey, reading: number, now: number, established: boolean): boolean {
    const slot = this.find(key);
    if (slot === NO_SLOT) return false;
    this.listedIn[slot] = reading;
    this.lastSeen[slot] = now;
    if (established && (this.closing[slot] & CLOSE_BITS) === 0) {
      this.closing[slot] |= ESTABLISHED;
      if (this.state[slot] !== STATE_ACTIVE) {
        changeConnectionState(this.backendRefs[this.backendOf[slot]], 'inactive', 'active');
        this.state[slot] = STATE_ACTIVE;
      }
    }
    return true;
  }

  /** The connections reading `reading` did not list (sighted) that were created at or before `createdBy`, as keys. */
  unsighted(reading: number, createdBy: number): ConnKey[] {
    const keys: ConnKey[] = [];
    for (let slot = this.head; slot !== NO_SLOT; slot = this.next[slot]) {
      if (this.listedIn[slot] === reading || this.created[slot] > createdBy) continue;
      keys.push(this.keyAt(slot));
    }
    return keys;
  }

  /**
   * TCP reached ('active': the accounting saw it ESTABLISHED) or left ESTABLISHED; counters move between active and
   * inactive. A closing or ended connection is not made active again (a late statistics reading must not undo a FIN).
   */
  setState(key: ConnKey, state: ConnState): boolean {
    const slot = this.find(key);
    if (slot === NO_SLOT) return false;
    if ((this.closing[slot] & CLOSE_BITS) !== 0 && state === 'active') return false;
    if (state === 'active') this.closing[slot] |= ESTABLISHED;
    const from: ConnState = this.state[slot] === STATE_ACTIVE ? 'active' : 'inactive';
    changeConnectionState(this.backendRefs[this.backendOf[slot]], from, state);
    this.state[slot] = state === 'active' ? STATE_ACTIVE : STATE_INACTIVE;
    return true;
  }

  /**
   * A FIN or RST from one side, seen at `now`. The first FIN makes the connection closing (inactive, as
   * IPVS counts FIN_WAIT and CLOSE_WAIT); the other side's FIN or a RST ends it: its backend stops counting
   * it as open at once (and counts it completed) and counts it lingering for `endLingerMs` (IPVS's TIME_WAIT and
   * CLOSE, inactive: see DEFAULT_END_LINGER_MS), while the entry stays until the datapath lets the connection go
   * (remove), so its flows' counters and a late packet still find it.
   */
  markEnd(key: ConnKey, side: ConnSide, reset: boolean, now: number): { outcome: EndOutcome; entry: ConnEntry } | null {
    const slot = this.find(key);
    if (slot === NO_SLOT) return null;
    const seen = this.closing[slot];
    if (seen & ENDED) return { outcome: 'unchanged', entry: this.entryAt(slot) };
    const bits = seen | (side === 'client' ? FIN_CLIENT : FIN_BACKEND);
    this.lastSeen[slot] = now;
    if (this.state[slot] === STATE_ACTIVE) {
      changeConnectionState(this.backendRefs[this.backendOf[slot]], 'active', 'inactive');
      this.state[slot] = STATE_INACTIVE;
    }
    if (reset || (bits & (FIN_CLIENT | FIN_BACKEND)) === (FIN_CLIENT | FIN_BACKEND)) {
      this.closing[slot] = bits | ENDED;
      unbindConnection(this.backendRefs[this.backendOf[slot]], 'inactive', this.portIndex[slot]);
      this.lingerRing.add(this.backendOf[slot], now);
      this.endedRing?.push(slot, now);
      return { outcome: 'ended', entry: this.entryAt(slot) };
    }
    this.closing[slot] = bits;
    return { outcome: bits === seen ? 'unchanged' : 'closing', entry: this.entryAt(slot) };
  }

  /**
   * An ended connection opened again on the same 5-tuple (a client that reused its port; the same backend serves it):
   * counted again as a new active connection from `now`, its closing bits cleared. The old one keeps lingering (it
   * ended); its outcome stays judged (the new one's first packet is a repeat of a placement already judged). null:
   * unknown, or not ended.
   */
  reopen(key: ConnKey, now: number): ConnEntry | null {
    const slot = this.find(key);
    if (slot === NO_SLOT || (this.closing[slot] & ENDED) === 0) return null;
    this.closing[slot] &= JUDGED;
    this.state[slot] = STATE_ACTIVE;
    bindConnection(this.backendRefs[this.backendOf[slot]], 'active', this.portIndex[slot]);
    this.created[slot] = now;
    this.lastSeen[slot] = now;
    return this.entryAt(slot);
  }

  /**
   * Ended connections whose linger is over at `now` stop counting (their backends' lingeringConns). The service
   * calls it before each choice; O(1) per connection that stops lingering.
   */
  expireLingering(now: number): void {
    this.lingerRing.expire(now);
  }

  /** Ended connections lingering now (counted in some backend's overhead). */
  get lingering(): number {
    return this.lingerRing.lingering;
  }

  /** How long an ended connection lingers (ms). */
  get endLingerMs(): number {
    return this.lingerRing.lingerMs;
  }

  /** Its outcome has been told to the outlier detector (false: unknown key). */
  markJudged(key: ConnKey): boolean {
    const slot = this.find(key);
    if (slot === NO_SLOT) return false;
    this.closing[slot] |= JUDGED;
    return true;
  }

  /** The backend answered on this connection (its reverse direction carried a packet); false: unknown key. */
  markReplied(key: ConnKey): boolean {
    const slot = this.find(key);
    if (slot === NO_SLOT) return false;
    this.closing[slot] |= REPLIED;
    return true;
  }

  /**
   * Judges the open connections not judged yet that the accounting has news of. TCP: one seen ESTABLISHED
   * worked; one still not established `connectTimeoutMs` after its first packet failed; closing ones are left to
   * the FIN/RST path (markEnd's caller). UDP, only when `udpReplyWithinMs` > 0 (0: UDP is not judged): a flow the
   * backend answered (markReplied) worked; one unanswered `udpReplyWithinMs` after its first packet failed.
   * Each connection is judged once.
   */
  judgeOpen(
    now: number, connectTimeoutMs: number,
    judged: (backend: Backend, portIndex: number, ok: boolean, ageMs: number, proto: number, ipv6: boolean) => void, udpReplyWithinMs = 0,
  ): void {
    for (let slot = this.head; slot !== NO_SLOT; slot = this.next[slot]) {
      const bits = this.closing[slot];
      if ((bits & (CLOSE_BITS | JUDGED)) !== 0) continue;
      const proto = this.proto[slot] & 0xff;
      let ok: boolean;
      let timeout: number;
      if (proto === TCP) {
        ok = (bits & ESTABLISHED) !== 0;
        timeout = connectTimeoutMs;
      } else if (proto === UDP && udpReplyWithinMs > 0) {
        ok = (bits & REPLIED) !== 0;
        timeout = udpReplyWithinMs;
      } else {
        continue;
      }
      const age = now - this.created[slot];
      if (!ok && age < timeout) continue;
      this.closing[slot] |= JUDGED;
      judged(this.backendRefs[this.backendOf[slot]], this.portIndex[slot], ok, age, proto, (this.proto[slot] & FAMILY6) !== 0);
    }
  }

  /** The connection is gone from the datapath (flow removed, tracker): forget it; returns what it was, or null if unknown. */
  remove(key: ConnKey): ConnEntry | null {
    const slot = this.find(key);
    if (slot === NO_SLOT) return null;
    const entry = this.entryAt(slot);
    this.free(slot);
    // An ended connection was uncounted when it ended.
    if (!entry.ended) unbindConnection(entry.backend, entry.state, entry.portIndex);
    return entry;
  }

  /**
   * Lets go of ended connections that ended at least endedKeptMs before `now` (the datapath has let them go: a SYN on
   * the 5-tuple is new there), at most `max` of them; returns how many. Without it an ended entry stayed until a
   * reading found it gone, and with the tracker's listing spaced up to a minute the table held every connection that
   * ended meanwhile (3,000 ends a second: 180,000). O(1) per connection let go: the ring is in end order, and an
   * entry removed, reopened or seen again since is passed over (one seen again goes back in at that time).
   */
  sweepEnded(now: number, max: number): number {
    const ring = this.endedRing;
    if (!ring) return 0;
    const before = now - this.endedKeptMs;
    let swept = 0;
    while (swept < max && ring.oldestAt() <= before) {
      const endedAt = ring.oldestAt();
      const slot = ring.shift();
      // A freed slot's bits are cleared (free), a reopened one's ENDED too.
      if ((this.closing[slot] & ENDED) === 0) continue;
      if (this.lastSeen[slot] > endedAt) {
        ring.push(slot, this.lastSeen[slot]);
        continue;
      }
      this.free(slot); // uncounted when it ended
      swept++;
    }
    return swept;
  }

  /** Every tracked connection, in a form that survives a restart. */
  export(): ConnRecord[] {
    const records: ConnRecord[] = [];
    for (let slot = this.head; slot !== NO_SLOT; slot = this.next[slot]) records.push(this.recordAt(slot));
    return records;
  }

  /**
   * Connections that have ended (both FINs or a RST) and went to one of `backendIds`, at most `max` of them: what
   * is left of them in the datapath (flows mode: a flow pair until it idles out) would take a reused client port's
   * SYN to a backend that no longer takes new connections. A walk of the table: for rare events (a backend removed,
   * down or drained), not per packet.
   */
  endedOf(backendIds: ReadonlySet<string>, max: number): ConnRecord[] {
    const records: ConnRecord[] = [];
    for (let slot = this.head; slot !== NO_SLOT && records.length < max; slot = this.next[slot]) {
      if ((this.closing[slot] & ENDED) !== 0 && backendIds.has(this.backendRefs[this.backendOf[slot]].id)) records.push(this.recordAt(slot));
    }
    return records;
  }


  /**
   * Re-track connections (after a restart). Records whose backend or software port is unknown, or
   * that are already tracked, are returned as skipped with the reason instead of failing the batch.
   */
  import(
    records: Iterable<ConnRecord>,
    backendById: (id: string) => Backend | undefined,
    opts: { judge?: boolean } = {},
  ): { imported: number; skipped: { record: ConnRecord; reason: string }[] } {
    let imported = 0;
    const skipped: { record: ConnRecord; reason: string }[] = [];
    for (const record of records) {
      const backend = backendById(record.backendId);
      const portIndex = backend ? backend.ports.indexOf(record.softwarePort) : -1;
      if (!backend) skipped.push({ record, reason: `unknown backend ${record.backendId}` });
      else if (portIndex < 0) skipped.push({ record, reason: `backend ${backend.id} has no port ${record.softwarePort}` });
      else if (!this.insert(record, backend, portIndex, record.state, record.created)) {
        skipped.push({ record, reason: 'already tracked' });
      } else {
        const slot = this.find(record);
        this.lastSeen[slot] = record.lastSeen;
        // Re-tracked as active: it was seen established (a restored flow pair, the tracker's ESTABLISHED).
        if (record.state === 'active') this.closing[slot] |= ESTABLISHED;
        this.closing[slot] |= ADOPTED;
        // A re-tracked connection's outcome belongs to its past (e.g. a SYN_SENT entry left from before a restart):
        // the outlier detector judges only connections placed in this life. `judge`: a new connection the datapath
        // placed (a select group), learnt at its first reading; `created` is then when vadc first saw it.
        if (!opts.judge) this.closing[slot] |= JUDGED;
        imported++;
      }
    }
    return { imported, skipped };
  }

  /**
   * The key's slot, or NO_SLOT. The IPv4 probe and compare are the same code as before IPv6 keys existed (an
   * IPv6 slot's stored protocol carries FAMILY6, so an IPv4 key never matches it); IPv6 keys take find6.
   */
  private find(k: ConnKey): number {
    if (k.ip6 !== undefined) return this.find6(k, k.ip6);
    const b = this.buckets;
    const mask = (b.length >> 1) - 1;
    const hash = hashKey(k.proto, k.clientIp, k.clientPort, k.vip, k.vipPort) | 0;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = b[2 * i] - 1;
      if (slot === NO_SLOT || (b[2 * i + 1] === hash && this.matches(slot, k))) return slot;
    }
  }

  /** find with the key's hash given (lookup's caller hashed it for an insert to follow). */
  private findHashed(k: ConnKey, hash: number): number {
    const b = this.buckets;
    const mask = (b.length >> 1) - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = b[2 * i] - 1;
      if (slot === NO_SLOT || (b[2 * i + 1] === hash && this.matches(slot, k))) return slot;
    }
  }

  private matches(slot: number, k: ConnKey): boolean {
    if (k.ip6 !== undefined) return this.matches6(slot, k, k.ip6);
    return this.clientIp[slot] === k.clientIp && this.clientPort[slot] === k.clientPort && this.vip[slot] === k.vip
      && this.vipPort[slot] === k.vipPort && this.proto[slot] === k.proto;
  }

  private find6(k: ConnKey, ip6: Ipv6Pair): number {
    const b = this.buckets;
    const mask = (b.length >> 1) - 1;
    const hash = hashKey6(k.proto, ip6, k.clientPort, k.vipPort) | 0;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = b[2 * i] - 1;
      if (slot === NO_SLOT || (b[2 * i + 1] === hash && this.matches6(slot, k, ip6))) return slot;
    }
  }

  private matches6(slot: number, k: ConnKey, ip6: Ipv6Pair): boolean {
    if (this.clientPort[slot] !== k.clientPort || this.vipPort[slot] !== k.vipPort || this.proto[slot] !== (k.proto | FAMILY6)) return false;
    // The stored words are uint32s, the key's int32s: compared as int32s.
    const w = this.ip6Words;
    const at = slot * WORDS6;
    if ((w[at] | 0) !== ip6.s0 || (w[at + 1] | 0) !== ip6.s1 || (w[at + 2] | 0) !== ip6.s2 || (w[at + 3] | 0) !== ip6.s3) return false;
    const v = this.vips.words;
    const vipAt = this.vip[slot] * 4;
    return (v[vipAt] | 0) === ip6.d0 && (v[vipAt + 1] | 0) === ip6.d1 && (v[vipAt + 2] | 0) === ip6.d2 && (v[vipAt + 3] | 0) === ip6.d3;
  }

  /** Takes a slot out of the index and the order and frees it; its bits cleared (sweepEnded tells a freed slot by them). */
  private free(slot: number): void {
    this.unindex(slot);
    if ((this.proto[slot] & FAMILY6) !== 0) this.vips.release(this.vip[slot]);
    this.unlink(slot);
    this.freeSlots[this.freeCount++] = slot;
    this.closing[slot] = 0;
  }

  /** Removes a slot from the index; later entries of its probe run shift back so lookups need no tombstones. */
  private unindex(slot: number): void {
    const b = this.buckets;
    const mask = (b.length >> 1) - 1;
    const proto = this.proto[slot];
    const hash = ((proto & FAMILY6) === 0
      ? hashKey(proto, this.clientIp[slot], this.clientPort[slot], this.vip[slot], this.vipPort[slot])
      : hashKey6Split(proto & 0xff, this.ip6Words, slot * WORDS6, this.vips.words, this.vip[slot] * 4, this.clientPort[slot], this.vipPort[slot])) | 0;
    let hole = hash & mask;
    while (b[2 * hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; b[2 * j] !== 0; j = (j + 1) & mask) {
      const home = b[2 * j + 1] & mask;
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const homeBetween = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!homeBetween) {
        b[2 * hole] = b[2 * j];
        b[2 * hole + 1] = b[2 * j + 1];
        hole = j;
      }
    }
    b[2 * hole] = 0;
    b[2 * hole + 1] = 0;
    this.count--;
  }

  /** Twice the buckets; entries re-placed by their stored hash. */
  private rehash(oldLength: number): void {
    const old = this.buckets;
    const b = new Int32Array(oldLength * 2);
    const mask = oldLength - 1; // new bucket count = oldLength
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] === 0) continue;
      let j = old[i + 1] & mask;
      while (b[2 * j] !== 0) j = (j + 1) & mask;
      b[2 * j] = old[i];
      b[2 * j + 1] = old[i + 1];
    }
    this.buckets = b;
  }
}
