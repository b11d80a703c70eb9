// The connection table's storage: a slot per connection in parallel typed arrays, the insertion-order list over
// the slots, the interned backends, and what a slot reads back as (src/lb/conn-table.ts keeps the index and the
// connections' lives).
import type { Backend, ConnState } from './backend';
import { vipFold6, type ConnKey } from './conn-key';
import { Vip6Intern } from './conn-vips';
import type { Ipv6Pair } from '../net/ipv6';

/** A connection as exported/imported, e.g. rebuilt from the switch's forward flows after a restart. */
export interface ConnRecord extends ConnKey {
  backendId: string;
  softwarePort: number;
  state: ConnState;
  created: number;
  lastSeen: number;
}

export interface ConnEntry {
  backend: Backend;
  portIndex: number;
  softwarePort: number;
  state: ConnState;
  created: number;
  lastSeen: number;
  /** Both sides closed (FIN each way) or one reset it: no longer counted, kept until the datapath lets it go. */
  ended: boolean;
  /** One side's FIN seen and not the other's (not ended): half-closed. */
  closing: boolean;
  /** Its outcome (worked / failed) was told to the outlier detector already: each connection is judged once. */
  judged: boolean;
  /** The accounting saw it ESTABLISHED (TCP): what the outlier detector counts as a connection that worked. */
  established: boolean;
  /**
   * `created` is its first packet, as vadc placed it. False for one tracked from a later sight (re-tracked after a
   * restart, or a datapath decision learnt at a tracker reading): its end says nothing of how long it lasted.
   */
  timed: boolean;
}

const STATE_ACTIVE = 1;
/**
 * Stored with the protocol byte: the slot is an IPv6 connection, its client's words in ip6Words and vip[] holding its
 * VIP's index in vips (the VIP's words stored once per table, not per slot).
 */
const FAMILY6 = 0x100;
/** An IPv6 slot's words in ip6Words: the client's address. */
const WORDS6 = 4;
const NO_WORDS = new Uint32Array(0);
const STATE_INACTIVE = 0;
/** closing[] bits: FIN seen from the client, from the backend; the connection ended. */
const FIN_CLIENT = 1;
const FIN_BACKEND = 2;
const ENDED = 4;
/** The connection's outcome was judged (outlier detection), kept with the closing bits. */
const JUDGED = 8;
/** The backend answered (a packet in the reply direction): what a UDP flow's outcome is judged by. */
const REPLIED = 16;
/** The accounting saw the TCP connection ESTABLISHED (a new one counts active from its first packet, before this). */
const ESTABLISHED = 32;
/** Tracked from a later sight (`import`): `created` is when vadc first saw it, not its first packet. */
const ADOPTED = 64;
/** Any sign of the connection closing. */
const CLOSE_BITS = FIN_CLIENT | FIN_BACKEND | ENDED;

const NO_SLOT = -1;
/** Backends interned first that intern() finds by comparing before it asks the Map. */
const INTERN_SCAN = 8;

// Declared, then exported: a use of an `export const` in its own module compiles to a load from `exports` (50 Ir more
// per IPv4 connection in the connection-table micro, callgrind).
export { ADOPTED, CLOSE_BITS, ENDED, ESTABLISHED, FAMILY6, FIN_BACKEND, FIN_CLIENT, JUDGED, NO_SLOT, REPLIED, STATE_ACTIVE, STATE_INACTIVE, WORDS6 };

/** The slot arrays, their free list and growth, and the insertion-order list; ConnectionTable adds the index over them. */
export class ConnSlots {
  /** Insertion-order list over live slots. */
  protected head = NO_SLOT;
  protected tail = NO_SLOT;
  protected prev: Int32Array;
  protected next: Int32Array;
  protected readonly backendRefs: Backend[] = [];
  protected readonly backendIndex = new Map<Backend, number>();
  protected capacity: number;
  protected proto: Uint16Array;
  protected ip6Words: Uint32Array;
  protected readonly vips = new Vip6Intern();
  protected clientIp: Uint32Array;
  protected clientPort: Uint16Array;
  protected vip: Uint32Array;
  protected vipPort: Uint16Array;
  protected backendOf: Uint32Array;
  protected portIndex: Uint16Array;
  protected state: Uint8Array;
  protected created: Float64Array;
  protected lastSeen: Float64Array;
  protected closing: Uint8Array;
  /** The accounting reading that last listed the slot's connection (sighted); 0: none yet. */
  protected listedIn: Uint32Array;
  protected freeSlots: Int32Array;
  protected freeCount = 0;
  protected highWater = 0;

  constructor(initialCapacity: number) {
    this.capacity = Math.max(16, initialCapacity);
    this.proto = new Uint16Array(this.capacity);
    this.ip6Words = NO_WORDS;
    this.clientIp = new Uint32Array(this.capacity);
    this.clientPort = new Uint16Array(this.capacity);
    this.vip = new Uint32Array(this.capacity);
    this.vipPort = new Uint16Array(this.capacity);
    this.backendOf = new Uint32Array(this.capacity);
    this.portIndex = new Uint16Array(this.capacity);
    this.state = new Uint8Array(this.capacity);
    this.created = new Float64Array(this.capacity);
    this.lastSeen = new Float64Array(this.capacity);
    this.closing = new Uint8Array(this.capacity);
    this.listedIn = new Uint32Array(this.capacity);
    this.freeSlots = new Int32Array(this.capacity);
    this.prev = new Int32Array(this.capacity);
    this.next = new Int32Array(this.capacity);
  }

  protected recordAt(slot: number): ConnRecord {
    const backend = this.backendRefs[this.backendOf[slot]];
    // Written out field by field: spreading keyAt's object into each record was most of an export's time at
    // 100,000 connections (the status API and a restart's hand-over export them all).
    const record: ConnRecord = {
      proto: this.proto[slot] & 0xff, clientIp: this.clientIp[slot], clientPort: this.clientPort[slot], vip: this.vip[slot],
      vipPort: this.vipPort[slot], backendId: backend.id, softwarePort: backend.ports[this.portIndex[slot]],
      state: this.state[slot] === STATE_ACTIVE ? 'active' : 'inactive', created: this.created[slot], lastSeen: this.lastSeen[slot],
    };
    if ((this.proto[slot] & FAMILY6) !== 0) {
      record.ip6 = this.pair6At(slot);
      // An IPv6 fold is an int32 (net/foldIpv6); the Uint32Array gives its bits back as a uint32.
      record.clientIp |= 0;
      record.vip = vipFold6(record.ip6);
    }
    return record;
  }

  protected link(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = NO_SLOT;
    if (this.tail === NO_SLOT) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
  }

  protected unlink(slot: number): void {
    const p = this.prev[slot];
    const n = this.next[slot];
    if (p === NO_SLOT) this.head = n;
    else this.next[p] = n;
    if (n === NO_SLOT) this.tail = p;
    else this.prev[n] = p;
  }

  protected keyAt(slot: number): ConnKey {
    const key: ConnKey = {
      proto: this.proto[slot] & 0xff, clientIp: this.clientIp[slot], clientPort: this.clientPort[slot], vip: this.vip[slot],
      vipPort: this.vipPort[slot],
    };
    if ((this.proto[slot] & FAMILY6) !== 0) {
      key.ip6 = this.pair6At(slot);
      key.clientIp |= 0; // as in recordAt
      key.vip = vipFold6(key.ip6);
    }
    return key;
  }

  /** An IPv6 slot's key words (ConnKey.ip6): the client's from ip6Words, the VIP's from vips. */
  private pair6At(slot: number): Ipv6Pair {
    const w = this.ip6Words;
    const at = slot * WORDS6;
    const v = this.vips.words;
    const vipAt = this.vip[slot] * 4;
    return {
      s0: w[at] | 0, s1: w[at + 1] | 0, s2: w[at + 2] | 0, s3: w[at + 3] | 0,
      d0: v[vipAt] | 0, d1: v[vipAt + 1] | 0, d2: v[vipAt + 2] | 0, d3: v[vipAt + 3] | 0,
    };
  }

  protected entryAt(slot: number): ConnEntry {
    const backend = this.backendRefs[this.backendOf[slot]];
    const portIndex = this.portIndex[slot];
    return {
      backend,
      portIndex,
      softwarePort: backend.ports[portIndex],
      state: this.state[slot] === STATE_ACTIVE ? 'active' : 'inactive',
      created: this.created[slot],
      lastSeen: this.lastSeen[slot],
      ended: (this.closing[slot] & ENDED) !== 0,
      closing: (this.closing[slot] & CLOSE_BITS) !== 0 && (this.closing[slot] & ENDED) === 0,
      judged: (this.closing[slot] & JUDGED) !== 0,
      established: (this.closing[slot] & ESTABLISHED) !== 0,
      timed: (this.closing[slot] & ADOPTED) === 0,
    };
  }

  protected intern(backend: Backend): number {
    // A service has a few backends: comparing the first few beats a Map lookup per insert (callgrind, docs/benchmarks.md).
    const refs = this.backendRefs;
    const scan = refs.length < INTERN_SCAN ? refs.length : INTERN_SCAN;
    for (let i = 0; i < scan; i++) if (refs[i] === backend) return i;
    let index = this.backendIndex.get(backend);
    if (index === undefined) {
      index = this.backendRefs.length;
      this.backendRefs.push(backend);
      this.backendIndex.set(backend, index);
    }
    return index;
  }

  protected allocate(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount];
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  protected grow(): void {
    const capacity = this.capacity * 2;
    const widen = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
      old: T, make: (n: number) => T,
    ): T => {
      const bigger = make(capacity);
      bigger.set(old);
      return bigger;
    };
    this.proto = widen(this.proto, (n) => new Uint16Array(n));
    if (this.ip6Words.length > 0) {
      const words = new Uint32Array(capacity * WORDS6);
      words.set(this.ip6Words);
      this.ip6Words = words;
    }
    this.clientIp = widen(this.clientIp, (n) => new Uint32Array(n));
    this.clientPort = widen(this.clientPort, (n) => new Uint16Array(n));
    this.vip = widen(this.vip, (n) => new Uint32Array(n));
    this.vipPort = widen(this.vipPort, (n) => new Uint16Array(n));
    this.backendOf = widen(this.backendOf, (n) => new Uint32Array(n));
    this.portIndex = widen(this.portIndex, (n) => new Uint16Array(n));
    this.state = widen(this.state, (n) => new Uint8Array(n));
    this.created = widen(this.created, (n) => new Float64Array(n));
    this.lastSeen = widen(this.lastSeen, (n) => new Float64Array(n));
    this.closing = widen(this.closing, (n) => new Uint8Array(n));
    this.listedIn = widen(this.listedIn, (n) => new Uint32Array(n));
    this.freeSlots = widen(this.freeSlots, (n) => new Int32Array(n));
    this.prev = widen(this.prev, (n) => new Int32Array(n));
    this.next = widen(this.next, (n) => new Int32Array(n));
    this.capacity = capacity;
  }
}
