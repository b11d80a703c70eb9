/**
 * A fake Open_vSwitch database for unit tests of what vadc writes there (the daemon's OvsdbLink): FakeCluster's
 * one-member server with the tables and columns vadc monitors (VSWITCH_MONITOR), typed as vswitch.ovsschema types
 * them, so no OVS install is needed. Rows are seeded through the cluster's commit, as another client's would be.
 */
import { randomUUID } from 'node:crypto';
import { Uuid, VSWITCH_MONITOR, type Row } from '../../../src/ovsdb';
import { FakeCluster } from './fake-cluster';

const strMap = { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } };
const optional = (key: string) => ({ type: { key, min: 0, max: 1 } });
const uuidSet = { type: { key: 'uuid', min: 0, max: 'unlimited' } };

export const VSWITCH_TEST_SCHEMA = {
  name: 'Open_vSwitch',
  version: '8.3.1',
  tables: {
    Open_vSwitch: { columns: { bridges: uuidSet, ovs_version: optional('string'), external_ids: strMap }, isRoot: true },
    Bridge: { columns: { name: { type: 'string' }, ports: uuidSet, datapath_id: optional('string'), external_ids: strMap, other_config: strMap }, isRoot: true },
    Port: { columns: { name: { type: 'string' }, interfaces: uuidSet, qos: optional('uuid'), tag: optional('integer'), external_ids: strMap } },
    Interface: {
      columns: {
        name: { type: 'string' }, type: { type: 'string' }, ofport: optional('integer'), mac_in_use: optional('string'), mac: optional('string'),
        external_ids: strMap, statistics: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
        link_state: optional('string'), admin_state: optional('string'), options: strMap,
      },
    },
    QoS: { columns: { type: { type: 'string' }, queues: { type: { key: 'integer', value: 'uuid', min: 0, max: 'unlimited' } }, other_config: strMap, external_ids: strMap }, isRoot: true },
    Queue: { columns: { dscp: optional('integer'), other_config: strMap, external_ids: strMap }, isRoot: true },
  },
};

// The schema above must hold every column vadc monitors (a test of a column it lacks would test nothing).
for (const [table, columns] of Object.entries(VSWITCH_MONITOR)) {
  const have = (VSWITCH_TEST_SCHEMA.tables as Record<string, { columns: Record<string, unknown> }>)[table]?.columns ?? {};
  const missing = columns.filter((c) => !(c in have));
  if (missing.length) throw new Error(`fake-vswitch schema: ${table} lacks ${missing.join(', ')}`);
}

export class FakeVswitch {
  readonly cluster: FakeCluster;

  constructor(dir: string) {
    this.cluster = new FakeCluster(dir, 1, 100, VSWITCH_TEST_SCHEMA);
  }

  get member() {
    return this.cluster.members[0];
  }

  remote(): string {
    return this.cluster.remotes();
  }

  async start(): Promise<this> {
    await this.cluster.start();
    return this;
  }

  stop(): Promise<void> {
    return this.cluster.stop();
  }

  /** Adds a row as another client would (committed, monitors told); returns its uuid. */
  add(table: string, row: Row): string {
    const uuid = randomUUID();
    this.cluster.commit(new Map([[table, new Map([[uuid, { new: this.cluster.fill(table, row) }]])]]));
    return uuid;
  }

  /** A port (with no QoS) named `name`. */
  addPort(name: string): string {
    return this.add('Port', { name });
  }

  rows(table: string): [string, Row][] {
    return [...(this.cluster.rows.get(table) ?? new Map<string, Row>())];
  }

  /** The uuid a row's optional-uuid (or uuid) column names, if any. */
  static ref(value: unknown): string | undefined {
    const one = Array.isArray(value) ? value[0] : value;
    return one instanceof Uuid ? one.value : undefined;
  }
}
