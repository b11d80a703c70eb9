// vadc's egress QoS rows: what planEgressQos writes for each state of the database, and that it never names a
// row without vadc's mark. The plan's operations are run on a small model of the three tables (strong
// references kept, as ovsdb-server's referential integrity would demand), so "converges" is checked, not assumed.
import { planEgressQos, type DesiredEgressQos, type EgressQosState, type Operation } from '../../../src/ovsdb';
import type { PortRow, QosRow, QueueRow } from '../../../src/ovsdb';
import { desiredEgressQos } from '../../../src/daemon/egress-rows';
import { parseConfig } from '../../../src/config';

const OWN = { 'vadc-owner': 'vadc' };

/** A minimal in-memory model of Port/QoS/Queue that runs insert/update/delete the way ovsdb-server would. */
class Tables {
  ports = new Map<string, PortRow>();
  qos = new Map<string, QosRow>();
  queues = new Map<string, QueueRow>();
  private next = 1;

  state(): EgressQosState {
    return { ports: this.ports.values(), qos: this.qos.values(), queues: this.queues.values() };
  }

  addPort(name: string, qos?: string): PortRow {
    const row: PortRow = { uuid: this.uuid(), name, interfaces: [], externalIds: {}, ...(qos ? { qos } : {}) };
    this.ports.set(row.uuid, row);
    return row;
  }

  uuid(): string {
    return `00000000-0000-0000-0000-${String(this.next++).padStart(12, '0')}`;
  }

  run(ops: Operation[]): void {
    const named = new Map<string, string>();
    const ref = (v: unknown): string => {
      const [kind, id] = v as [string, string];
      return kind === 'named-uuid' ? named.get(id)! : id;
    };
    const map = (v: unknown): Record<string, string> => Object.fromEntries((v as [string, [string, string][]])[1]);
    const target = (o: Operation): string => ((o.where as unknown[][])[0][2] as [string, string])[1];
    for (const o of ops) {
      const row = o.row as Record<string, unknown> | undefined;
      if (o.op === 'insert') {
        const uuid = this.uuid();
        named.set(o['uuid-name'] as string, uuid);
        if (o.table === 'Queue') this.queues.set(uuid, { uuid, otherConfig: map(row!.other_config), externalIds: map(row!.external_ids) });
        else this.qos.set(uuid, this.qosRow(uuid, row!, ref, map));
      } else if (o.op === 'update') {
        const uuid = target(o);
        if (o.table === 'Port') {
          const port = this.ports.get(uuid)!;
          const q = row!.qos as unknown;
          const { qos: _drop, ...rest } = port;
          this.ports.set(uuid, Array.isArray(q) && q[0] === 'set' ? rest : { ...rest, qos: ref(q) });
        } else if (o.table === 'Queue') {
          this.queues.set(uuid, { uuid, otherConfig: map(row!.other_config), externalIds: map(row!.external_ids) });
        } else this.qos.set(uuid, this.qosRow(uuid, row!, ref, map));
      } else if (o.op === 'delete') {
        (o.table === 'Queue' ? this.queues : this.qos).delete(target(o));
      } else throw new Error(`unexpected op ${o.op}`);
    }
    // Referential integrity at commit: every strong reference resolves.
    for (const p of this.ports.values()) if (p.qos && !this.qos.has(p.qos)) throw new Error(`port ${p.name} refers to a deleted QoS`);
    for (const q of this.qos.values()) for (const u of Object.values(q.queues)) if (!this.queues.has(u)) throw new Error(`QoS ${q.uuid} refers to a deleted Queue`);
  }

  private qosRow(uuid: string, row: Record<string, unknown>, ref: (v: unknown) => string, map: (v: unknown) => Record<string, string>): QosRow {
    const queues = Object.fromEntries((row.queues as [string, [number, unknown][]])[1].map(([id, u]) => [id, ref(u)]));
    return { uuid, type: row.type as string, queues, otherConfig: map(row.other_config), externalIds: map(row.external_ids) };
  }
}

const desired = (queues: DesiredEgressQos['queues'], port = 'uplink0'): DesiredEgressQos => ({ port, type: 'linux-htb', otherConfig: { 'max-rate': '1000000000' }, queues });
const q = (queueId: number, maxRate: number, vnic = `vm${queueId}`) => ({ queueId, otherConfig: { 'max-rate': String(maxRate) }, externalIds: { 'vadc-vnic': vnic } });

/** Plans, runs, and checks that a second plan has nothing left to do. */
function converge(t: Tables, want: DesiredEgressQos | undefined): Operation[] {
  const plan = planEgressQos(want, t.state());
  expect(plan.problem).toBeUndefined();
  t.run(plan.ops);
  expect(planEgressQos(want, t.state()).ops).toEqual([]);
  return plan.ops;
}

function portQos(t: Tables, name: string): QosRow | undefined {
  const port = [...t.ports.values()].find((p) => p.name === name)!;
  return port.qos ? t.qos.get(port.qos) : undefined;
}

describe('planEgressQos', () => {
  it('creates the QoS on the port with one queue per vNIC, all marked as vadc\'s', () => {
    const t = new Tables();
    t.addPort('uplink0');
    const ops = converge(t, desired([q(1, 50_000_000), q(2, 20_000_000)]));
    expect(ops.map((o) => `${o.op} ${o.table as string}`)).toEqual(['insert Queue', 'insert Queue', 'insert QoS', 'update Port']);
    const qos = portQos(t, 'uplink0')!;
    expect(qos).toMatchObject({ type: 'linux-htb', otherConfig: { 'max-rate': '1000000000' }, externalIds: OWN });
    expect(Object.keys(qos.queues)).toEqual(['1', '2']);
    expect(t.queues.get(qos.queues[2])).toMatchObject({ otherConfig: { 'max-rate': '20000000' }, externalIds: { ...OWN, 'vadc-vnic': 'vm2' } });
  });

  it('changes a rate in place, adds and removes queues, and writes nothing when all is in place', () => {
    const t = new Tables();
    t.addPort('uplink0');
    converge(t, desired([q(1, 50_000_000), q(2, 20_000_000)]));
    const before = portQos(t, 'uplink0')!.uuid;
    const ops = converge(t, desired([q(1, 40_000_000), q(3, 10_000_000)]));
    expect(ops.map((o) => `${o.op} ${o.table as string}`)).toEqual(['update Queue', 'insert Queue', 'delete Queue', 'update QoS']);
    const qos = portQos(t, 'uplink0')!;
    expect(qos.uuid).toBe(before);
    expect(Object.keys(qos.queues)).toEqual(['1', '3']);
    expect(t.queues.size).toBe(2);
  });

  it('removes every row it owns when nothing is wanted, and the port is left without QoS', () => {
    const t = new Tables();
    t.addPort('uplink0');
    converge(t, desired([q(1, 50_000_000)]));
    converge(t, undefined);
    expect(portQos(t, 'uplink0')).toBeUndefined();
    expect(t.qos.size).toBe(0);
    expect(t.queues.size).toBe(0);
  });

  it('moves to another port when the configuration names another', () => {
    const t = new Tables();
    t.addPort('uplink0');
    t.addPort('uplink1');
    converge(t, desired([q(1, 50_000_000)]));
    converge(t, desired([q(1, 50_000_000)], 'uplink1'));
    expect(portQos(t, 'uplink0')).toBeUndefined();
    expect(portQos(t, 'uplink1')?.externalIds).toEqual(OWN);
  });

  it("never touches someone else's QoS: the port's is reported and left, another port's is never named", () => {
    const t = new Tables();
    const foreignQueue = t.uuid();
    t.queues.set(foreignQueue, { uuid: foreignQueue, otherConfig: { 'max-rate': '7' }, externalIds: {} });
    const foreign = t.uuid();
    t.qos.set(foreign, { uuid: foreign, type: 'linux-hfsc', queues: { 0: foreignQueue }, otherConfig: {}, externalIds: { owner: 'neutron' } });
    t.addPort('uplink0', foreign);
    const plan = planEgressQos(desired([q(1, 50_000_000)]), t.state());
    expect(plan.ops).toEqual([]);
    expect(plan.problem).toEqual({
      kind: 'foreign_qos', port: 'uplink0', qos: foreign,
      message: `egress port uplink0 already has QoS ${foreign} (type linux-hfsc) that vadc does not own (no vadc-owner=vadc): left as it is; the backends' queues are not set`,
    });
    // Another port with the foreign QoS: vadc's own rows go on uplink1, removal later names only vadc's.
    t.addPort('uplink1');
    converge(t, desired([q(1, 50_000_000)], 'uplink1'));
    const ops = converge(t, undefined);
    const named = JSON.stringify(ops);
    expect(named).not.toContain(foreign);
    expect(named).not.toContain(foreignQueue);
    expect(t.qos.get(foreign)).toBeDefined();
    expect(t.queues.get(foreignQueue)).toBeDefined();
  });

  it('waits for a port that is not there, saying so', () => {
    const t = new Tables();
    expect(planEgressQos(desired([q(1, 5)]), t.state())).toEqual({
      ops: [], problem: { kind: 'port_missing', port: 'uplink0', message: 'egress port uplink0 is not in OVSDB: its queues wait for it' },
    });
  });
});

describe('desiredEgressQos from the configuration', () => {
  const yaml = (q1: string) => `
egress: { port: uplink0, qos_type: linux-hfsc, max_rate: 900000000 }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [80], queue: { min_rate: 1000, max_rate: 20000000, priority: 2 } }
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [80]${q1} }
`;

  it("numbers the queues as the flows do and writes OVS's other_config keys", () => {
    const c = parseConfig(yaml(', queue: { max_rate: 50000000 }'));
    expect(desiredEgressQos(c.egress, c.services)).toEqual({
      port: 'uplink0', type: 'linux-hfsc', otherConfig: { 'max-rate': '900000000' },
      queues: [
        { queueId: 1, otherConfig: { 'max-rate': '50000000' }, externalIds: { 'vadc-vnic': 'v-vm1' } },
        { queueId: 2, otherConfig: { 'min-rate': '1000', 'max-rate': '20000000', priority: '2' }, externalIds: { 'vadc-vnic': 'v-vm2' } },
      ],
    });
  });

  it('wants no rows without a queued backend or without the egress section', () => {
    const c = parseConfig(yaml('').replace(', queue: { min_rate: 1000, max_rate: 20000000, priority: 2 }', ''));
    expect(desiredEgressQos(c.egress, c.services)).toBeUndefined();
    expect(desiredEgressQos(undefined, parseConfig(yaml(', queue: { max_rate: 5 }')).services)).toBeUndefined();
  });
});
