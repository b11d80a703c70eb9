import { Backend, bindConnection, changeConnectionState, ConnState, unbindConnection } from './backend';
import { LbInputError } from './errors';

/** A connection's identity as the client sees it (addresses as uint32). */
export interface ConnKey {
  proto: number;
  clientIp: number;
  clientPort: number;
  vip: number;
  vipPort: number;
}

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
}

const STATE_ACTIVE = 1;
const STATE_INACTIVE = 0;

/**
 * Seven 16-bit code units: small flat strings keep a million keys cheap (no per-key objects).
 * Lone surrogates are fine in Map keys.
 */
function keyOf(k: ConnKey): string {
  return String.fromCharCode(
    k.proto, k.clientIp >>> 16, k.clientIp & 0xffff, k.clientPort, k.vip >>> 16, k.vip & 0xffff, k.vipPort,
  );
}

/**
 * The connection table: key -> slot in parallel typed arrays (structure of arrays, so 1,000,000
 * connections cost a few dozen bytes each, no object per connection). O(1) insert, lookup, remove.
 * Every change keeps the backend's active/inactive/per-port counters, and so OVERLOAD, in step.
 */
export class ConnectionTable {
  private readonly slots = new Map<string, number>();
  private readonly backendRefs: Backend[] = [];
  private readonly backendIndex = new Map<Backend, number>();
  private capacity: number;
  private proto: Uint8Array;
  private clientIp: Uint32Array;
  private clientPort: Uint16Array;
  private vip: Uint32Array;
  private vipPort: Uint16Array;
  private backendOf: Uint32Array;
  private portIndex: Uint16Array;
  private state: Uint8Array;
  private created: Float64Array;
  private lastSeen: Float64Array;
  private freeSlots: Int32Array;
  private freeCount = 0;
  private highWater = 0;
  // The last key's string: a new connection is looked up, placed and inserted with the same 5-tuple in
  // a row, so building and hashing its key string once instead of 3-4 times matters on the packet-in path.
  private lastProto = -1;
  private lastClientIp = -1;
  private lastClientPort = -1;
  private lastVip = -1;
  private lastVipPort = -1;
  private lastKey = '';

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    this.proto = new Uint8Array(this.capacity);
    this.clientIp = new Uint32Array(this.capacity);
    this.clientPort = new Uint16Array(this.capacity);
    this.vip = new Uint32Array(this.capacity);
    this.vipPort = new Uint16Array(this.capacity);
    this.backendOf = new Uint32Array(this.capacity);
    this.portIndex = new Uint16Array(this.capacity);
    this.state = new Uint8Array(this.capacity);
    this.created = new Float64Array(this.capacity);
    this.lastSeen = new Float64Array(this.capacity);
    this.freeSlots = new Int32Array(this.capacity);
  }

  get size(): number {
    return this.slots.size;
  }

  has(key: ConnKey): boolean {
    return this.slots.has(this.keyString(key));
  }

  /** Track a new connection on `backend`'s port `portIndex`; false if the key is already tracked. */
  insert(key: ConnKey, backend: Backend, portIndex: number, state: ConnState, now: number): boolean {
    if (!Number.isInteger(portIndex) || portIndex < 0 || portIndex >= backend.ports.length) {
      throw new LbInputError('conn.portIndex', `backend ${backend.id} has no port index ${portIndex}`);
    }
    const k = this.keyString(key);
    if (this.slots.has(k)) return false;
    const slot = this.allocate();
    this.slots.set(k, slot);
    this.proto[slot] = key.proto;
    this.clientIp[slot] = key.clientIp;
    this.clientPort[slot] = key.clientPort;
    this.vip[slot] = key.vip;
    this.vipPort[slot] = key.vipPort;
    this.backendOf[slot] = this.intern(backend);
    this.portIndex[slot] = portIndex;
    this.state[slot] = state === 'active' ? STATE_ACTIVE : STATE_INACTIVE;
    this.created[slot] = now;
    this.lastSeen[slot] = now;
    bindConnection(backend, state, portIndex);
    return true;
  }

  lookup(key: ConnKey): ConnEntry | null {
    const slot = this.slots.get(this.keyString(key));
    return slot === undefined ? null : this.entryAt(slot);
  }

  /** Traffic seen on the connection (e.g. from flow stats). */
  touch(key: ConnKey, now: number): boolean {
    const slot = this.slots.get(this.keyString(key));
    if (slot === undefined) return false;
    this.lastSeen[slot] = now;
    return true;
  }

  /** TCP reached or left ESTABLISHED; counters move between active and inactive. */
  setState(key: ConnKey, state: ConnState): boolean {
    const slot = this.slots.get(this.keyString(key));
    if (slot === undefined) return false;
    const from: ConnState = this.state[slot] === STATE_ACTIVE ? 'active' : 'inactive';
    changeConnectionState(this.backendRefs[this.backendOf[slot]], from, state);
    this.state[slot] = state === 'active' ? STATE_ACTIVE : STATE_INACTIVE;
    return true;
  }

  /** The connection ended (flow removed): uncount it; returns what it was, or null if unknown. */
  remove(key: ConnKey): ConnEntry | null {
    const k = this.keyString(key);
    const slot = this.slots.get(k);
    if (slot === undefined) return null;
    const entry = this.entryAt(slot);
    this.slots.delete(k);
    this.freeSlots[this.freeCount++] = slot;
    unbindConnection(entry.backend, entry.state, entry.portIndex);
    return entry;
  }

  /** Every tracked connection, in a form that survives a restart. */
  export(): ConnRecord[] {
    const records: ConnRecord[] = [];
    for (const slot of this.slots.values()) {
      const entry = this.entryAt(slot);
      records.push({
        proto: this.proto[slot],
        clientIp: this.clientIp[slot],
        clientPort: this.clientPort[slot],
        vip: this.vip[slot],
        vipPort: this.vipPort[slot],
        backendId: entry.backend.id,
        softwarePort: entry.softwarePort,
        state: entry.state,
        created: entry.created,
        lastSeen: entry.lastSeen,
      });
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
        this.lastSeen[this.slots.get(this.keyString(record))!] = record.lastSeen;
        imported++;
      }
    }
    return { imported, skipped };
  }

  private keyString(k: ConnKey): string {
    if (k.clientPort !== this.lastClientPort || k.clientIp !== this.lastClientIp || k.vip !== this.lastVip
      || k.vipPort !== this.lastVipPort || k.proto !== this.lastProto) {
      this.lastKey = keyOf(k);
      this.lastProto = k.proto;
      this.lastClientIp = k.clientIp;
      this.lastClientPort = k.clientPort;
      this.lastVip = k.vip;
      this.lastVipPort = k.vipPort;
    }
    return this.lastKey;
  }

  private entryAt(slot: number): ConnEntry {
    const backend = this.backendRefs[this.backendOf[slot]];
    const portIndex = this.portIndex[slot];
    return {
      backend,
      portIndex,
      softwarePort: backend.ports[portIndex],
      state: this.state[slot] === STATE_ACTIVE ? 'active' : 'inactive',
      created: this.created[slot],
      lastSeen: this.lastSeen[slot],
    };
  }

  private intern(backend: Backend): number {
    let index = this.backendIndex.get(backend);
    if (index === undefined) {
      index = this.backendRefs.length;
      this.backendRefs.push(backend);
      this.backendIndex.set(backend, index);
    }
    return index;
  }

  private allocate(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount];
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const widen = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
      old: T, make: (n: number) => T,
    ): T => {
      const bigger = make(capacity);
      bigger.set(old);
      return bigger;
    };
    this.proto = widen(this.proto, (n) => new Uint8Array(n));
    this.clientIp = widen(this.clientIp, (n) => new Uint32Array(n));
    this.clientPort = widen(this.clientPort, (n) => new Uint16Array(n));
    this.vip = widen(this.vip, (n) => new Uint32Array(n));
    this.vipPort = widen(this.vipPort, (n) => new Uint16Array(n));
    this.backendOf = widen(this.backendOf, (n) => new Uint32Array(n));
    this.portIndex = widen(this.portIndex, (n) => new Uint16Array(n));
    this.state = widen(this.state, (n) => new Uint8Array(n));
    this.created = widen(this.created, (n) => new Float64Array(n));
    this.lastSeen = widen(this.lastSeen, (n) => new Float64Array(n));
    this.freeSlots = widen(this.freeSlots, (n) => new Int32Array(n));
    this.capacity = capacity;
  }
}
