/**
 * A typed, live copy of the Open_vSwitch database tables vadc uses (Open_vSwitch, Bridge, Port,
 * Interface, QoS, Queue), fed by a monitor. Emits 'add', 'update' and 'delete' per row with the old
 * and new typed rows, then one 'changed' per batch (after a reconnect, the batch that converges it).
 * `applyChanges` is public so the cache can be driven without a server (tests, replay).
 */
import { EventEmitter } from 'node:events';
import { OvsdbProtocolError } from './errors';
import type { MonitorHandle, MonitorRequests, OvsdbClient } from './client';
import type { RowChange } from './monitor';
import { Atom, OvsdbValue, Row, Uuid, asMap, asSet, describe } from './notation';

export type StringMap = Record<string, string>;

export interface OpenVswitchRow {
  uuid: string;
  bridges: string[];
  ovsVersion?: string;
  externalIds: StringMap;
}

export interface BridgeRow {
  uuid: string;
  name: string;
  ports: string[];
  datapathId?: string;
  externalIds: StringMap;
  otherConfig: StringMap;
}

export interface PortRow {
  uuid: string;
  name: string;
  interfaces: string[];
  qos?: string;
  tag?: number;
  externalIds: StringMap;
}

export interface InterfaceRow {
  uuid: string;
  name: string;
  type: string;
  /** Absent until ovs-vswitchd assigns one; -1 when it failed to add the interface. */
  ofport?: number;
  macInUse?: string;
  mac?: string;
  externalIds: StringMap;
  statistics: Record<string, number>;
  linkState?: string;
  adminState?: string;
  options: StringMap;
}

export interface QosRow {
  uuid: string;
  type: string;
  /** OpenFlow queue id -> Queue row uuid. */
  queues: Record<number, string>;
  otherConfig: StringMap;
  externalIds: StringMap;
}

export interface QueueRow {
  uuid: string;
  dscp?: number;
  otherConfig: StringMap;
  externalIds: StringMap;
}

export interface VswitchTables {
  Open_vSwitch: OpenVswitchRow;
  Bridge: BridgeRow;
  Port: PortRow;
  Interface: InterfaceRow;
  QoS: QosRow;
  Queue: QueueRow;
}

export type VswitchTable = keyof VswitchTables;

export type CacheEvent = {
  [T in VswitchTable]: { table: T; uuid: string; old?: VswitchTables[T]; new?: VswitchTables[T] };
}[VswitchTable];

export interface VswitchCacheEvents {
  add: [event: CacheEvent];
  update: [event: CacheEvent];
  delete: [event: CacheEvent];
  changed: [events: CacheEvent[]];
}

/** The columns vadc reads, per table: all the monitor asks for. */
export const VSWITCH_MONITOR: Record<VswitchTable, string[]> = {
  Open_vSwitch: ['bridges', 'ovs_version', 'external_ids'],
  Bridge: ['name', 'ports', 'datapath_id', 'external_ids', 'other_config'],
  Port: ['name', 'interfaces', 'qos', 'tag', 'external_ids'],
  Interface: [
    'name',
    'type',
    'ofport',
    'mac_in_use',
    'mac',
    'external_ids',
    'statistics',
    'link_state',
    'admin_state',
    'options',
  ],
  QoS: ['type', 'queues', 'other_config', 'external_ids'],
  Queue: ['dscp', 'other_config', 'external_ids'],
};

const TABLES = Object.keys(VSWITCH_MONITOR) as VswitchTable[];

// ---- column readers: typed views of decoded values, with the table/column in any error ----

type Reader<T> = (row: Row, column: string, where: string) => T;

function fail(where: string, column: string, expected: string, value: OvsdbValue | undefined): never {
  throw new OvsdbProtocolError(`${where}.${column}: expected ${expected}, got ${describe(value)}`);
}

const str: Reader<string> = (row, c, w) => {
  const v = row[c] ?? '';
  return typeof v === 'string' ? v : fail(w, c, 'a string', v);
};

function optional<T>(check: (a: Atom) => a is Atom & T, expected: string): Reader<T | undefined> {
  return (row, c, w) => {
    const items = asSet(row[c]);
    if (items.length === 0) return undefined;
    return items.length === 1 && check(items[0]) ? items[0] : fail(w, c, expected, row[c]);
  };
}

const optStr = optional<string>((a): a is string => typeof a === 'string', 'an optional string');
const optInt = optional<number>((a): a is number => typeof a === 'number', 'an optional integer');
const optUuid: Reader<string | undefined> = (row, c, w) => {
  const items = asSet(row[c]);
  if (items.length === 0) return undefined;
  return items.length === 1 && items[0] instanceof Uuid ? items[0].value : fail(w, c, 'an optional uuid', row[c]);
};
const uuidSet: Reader<string[]> = (row, c, w) =>
  asSet(row[c]).map((a) => (a instanceof Uuid ? a.value : fail(w, c, 'a set of uuids', row[c])));

function mapOf<V>(check: (a: Atom) => V | undefined, expected: string): Reader<Record<string, V>> {
  return (row, c, w) => {
    const out: Record<string, V> = {};
    for (const [k, v] of asMap(row[c])) {
      const value = check(v);
      if (value === undefined || typeof k === 'object' || typeof k === 'boolean') fail(w, c, expected, row[c]);
      out[String(k)] = value;
    }
    return out;
  };
}

const strMap = mapOf((a) => (typeof a === 'string' ? a : undefined), 'a string->string map');
const intMap = mapOf((a) => (typeof a === 'number' ? a : undefined), 'a string->integer map');
const uuidMap = mapOf((a) => (a instanceof Uuid ? a.value : undefined), 'an integer->uuid map');

/** Pure: a decoded row of `table` as its typed form. Throws OvsdbProtocolError on wrong shapes. */
export function toTypedRow<T extends VswitchTable>(table: T, uuid: string, row: Row): VswitchTables[T] {
  const w = `${table}/${uuid}`;
  const typed: { [K in VswitchTable]: () => VswitchTables[K] } = {
    Open_vSwitch: () => ({
      uuid,
      bridges: uuidSet(row, 'bridges', w),
      ovsVersion: optStr(row, 'ovs_version', w),
      externalIds: strMap(row, 'external_ids', w),
    }),
    Bridge: () => ({
      uuid,
      name: str(row, 'name', w),
      ports: uuidSet(row, 'ports', w),
      datapathId: optStr(row, 'datapath_id', w),
      externalIds: strMap(row, 'external_ids', w),
      otherConfig: strMap(row, 'other_config', w),
    }),
    Port: () => ({
      uuid,
      name: str(row, 'name', w),
      interfaces: uuidSet(row, 'interfaces', w),
      qos: optUuid(row, 'qos', w),
      tag: optInt(row, 'tag', w),
      externalIds: strMap(row, 'external_ids', w),
    }),
    Interface: () => ({
      uuid,
      name: str(row, 'name', w),
      type: str(row, 'type', w),
      ofport: optInt(row, 'ofport', w),
      macInUse: optStr(row, 'mac_in_use', w),
      mac: optStr(row, 'mac', w),
      externalIds: strMap(row, 'external_ids', w),
      statistics: intMap(row, 'statistics', w),
      linkState: optStr(row, 'link_state', w),
      adminState: optStr(row, 'admin_state', w),
      options: strMap(row, 'options', w),
    }),
    QoS: () => ({
      uuid,
      type: str(row, 'type', w),
      queues: uuidMap(row, 'queues', w),
      otherConfig: strMap(row, 'other_config', w),
      externalIds: strMap(row, 'external_ids', w),
    }),
    Queue: () => ({
      uuid,
      dscp: optInt(row, 'dscp', w),
      otherConfig: strMap(row, 'other_config', w),
      externalIds: strMap(row, 'external_ids', w),
    }),
  };
  return typed[table]();
}

export class VswitchCache extends EventEmitter<VswitchCacheEvents> {
  private readonly tables = new Map<VswitchTable, Map<string, VswitchTables[VswitchTable]>>(
    TABLES.map((t) => [t, new Map()]),
  );
  private handle: MonitorHandle | undefined;

  /** Monitors `db` on the client and resolves once the initial contents are in the cache. */
  static async start(client: OvsdbClient, db = 'Open_vSwitch'): Promise<VswitchCache> {
    const cache = new VswitchCache();
    const requests: MonitorRequests = {};
    for (const table of TABLES) requests[table] = { columns: VSWITCH_MONITOR[table] };
    cache.handle = await client.monitor(db, requests, (changes) => cache.applyChanges(changes));
    return cache;
  }

  async stop(): Promise<void> {
    await this.handle?.cancel();
    this.handle = undefined;
  }

  /** Applies a batch of monitor changes; converts every row first so a bad row changes nothing. */
  applyChanges(changes: RowChange[]): CacheEvent[] {
    const events: CacheEvent[] = [];
    for (const change of changes) {
      if (!this.tables.has(change.table as VswitchTable)) continue;
      const table = change.table as VswitchTable;
      const typedNew = change.new ? toTypedRow(table, change.uuid, change.new) : undefined;
      const old = this.tables.get(table)?.get(change.uuid);
      events.push({ table, uuid: change.uuid, old, new: typedNew } as CacheEvent);
    }
    for (const event of events) {
      const rows = this.tables.get(event.table) as Map<string, VswitchTables[VswitchTable]>;
      if (event.new) rows.set(event.uuid, event.new);
      else rows.delete(event.uuid);
    }
    for (const event of events) {
      if (event.old && event.new) this.emit('update', event);
      else if (event.new) this.emit('add', event);
      else if (event.old) this.emit('delete', event);
    }
    if (events.length > 0) this.emit('changed', events);
    return events;
  }

  rows<T extends VswitchTable>(table: T): ReadonlyMap<string, VswitchTables[T]> {
    return this.tables.get(table) as Map<string, VswitchTables[T]>;
  }

  get<T extends VswitchTable>(table: T, uuid: string): VswitchTables[T] | undefined {
    return this.rows(table).get(uuid);
  }

  findByName<T extends 'Bridge' | 'Port' | 'Interface'>(table: T, name: string): VswitchTables[T] | undefined {
    for (const row of this.rows(table).values()) if (row.name === name) return row;
    return undefined;
  }

  portOfInterface(interfaceUuid: string): PortRow | undefined {
    for (const port of this.rows('Port').values()) if (port.interfaces.includes(interfaceUuid)) return port;
    return undefined;
  }

  bridgeOfPort(portUuid: string): BridgeRow | undefined {
    for (const bridge of this.rows('Bridge').values()) if (bridge.ports.includes(portUuid)) return bridge;
    return undefined;
  }
}
