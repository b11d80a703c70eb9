// datapath.first_table: on a bridge shared with other controllers vadc's pipeline starts at its first table and
// never touches a table below it. In every NAT mode: every flow vadc sends is checked against the shifted pipeline
// (the harness does it) and lies in vadc's 4 tables; traffic that table 0's owner sends on is served exactly as on a
// bridge of vadc's own; connections are read back from flows in the shifted tables after a restart.
import { LoadBalancerApp } from '../../../src/app';
import { buildConnectionFlows, buildPipelineFlows, checkFlow, flowNextTables, pathFromTableZero, vadcPipeline, vadcTables, VADC_PIPELINE } from '../../../src/flows';
import { parseConfig } from '../../../src/config';
import type { FlowMod, FlowStats } from '../../../src/openflow/types';
import { AppHarness, CLIENT_PORT, delivered, fromBackend, fromClient, gotoFirstTable, NAT_MODES, VIP_MAC, VMS } from '../../helpers/app-harness';

const FIRST = 10;

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('datapath.first_table %s in %s mode', (_name, mode) => {
  it('every flow and group vadc sends lies in its 4 tables from the first on; nothing in table 0', () => {
    const h = new AppHarness(mode, undefined, { firstTable: FIRST });
    for (let i = 0; i < 3; i++) h.send(fromClient(42000 + i));
    const flowMods = h.sent.filter((m): m is FlowMod => m.type === 'flow_mod');
    expect(flowMods.length).toBeGreaterThan(5);
    // Deletes may name every table (OFPTT_ALL, with vadc's cookie pinned); everything else is in 10..13.
    const tables = new Set(flowMods.map((m) => m.tableId).filter((t) => t !== 0xff));
    expect([...tables].every((t) => t >= FIRST && t <= FIRST + 3)).toBe(true);
    expect(tables.has(FIRST)).toBe(true);
    expect(h.table.flows(0)).toEqual([gotoFirstTable(FIRST)]);
  });

  it('a connection table 0 sends on is placed and served both ways, then stays in the datapath', () => {
    const h = new AppHarness(mode, undefined, { firstTable: FIRST });
    const out = delivered(h.send(fromClient(43000)).outcomes);
    expect(out.port).toBe(VMS['v-vm1'].ofport);
    expect(out.fields).toMatchObject({ eth_dst: VMS['v-vm1'].mac, ipv4_dst: '10.0.0.11', tcp_dst: 8080 });
    const reply = delivered(h.send(fromBackend('v-vm1', 43000), VMS['v-vm1'].ofport).outcomes);
    expect(reply.port).toBe(CLIENT_PORT);
    expect(reply.fields).toMatchObject({ eth_src: VIP_MAC, ipv4_src: '10.0.0.100', tcp_src: 80 });
    expect(h.packetIns).toBe(1);
  });

  it('without a table-0 flow to vadc\'s tables nothing reaches vadc (what the status warning is about)', () => {
    const h = new AppHarness(mode, undefined, { firstTable: FIRST, foreignTableZero: [] });
    expect(h.send(fromClient(44000)).outcomes.map((o) => o.kind)).toEqual(['drop']);
    expect(h.packetIns).toBe(0);
  });

  it('a restarted vadc reads its connections back from the shifted tables', () => {
    const h = new AppHarness(mode, undefined, { firstTable: FIRST });
    for (let i = 0; i < 3; i++) h.send(fromClient(45000 + i));
    const config = AppHarness.config(mode, undefined, FIRST);
    const again = new LoadBalancerApp(config.services, { datapath: config.datapath, emit: () => undefined });
    again.switchUp(h.sw, h.now);
    const restored = again.restore(h.sw.dpid, h.accountingReading(), h.now);
    expect(restored.flatMap((b) => b.msgs).filter((m) => m.type === 'flow_mod' && m.command === 3)).toEqual([]);
    expect(again.serviceStates()[0].lb.connections.size).toBe(3);
  });
});

describe('the shifted pipeline', () => {
  it('moves every table id and goto target by the first table', () => {
    const shifted = vadcPipeline(FIRST);
    expect(shifted.map((t) => t.id)).toEqual(VADC_PIPELINE.map((t) => t.id + FIRST));
    expect(shifted.map((t) => t.nextTables)).toEqual(VADC_PIPELINE.map((t) => t.nextTables.map((n) => n + FIRST)));
  });
  it('a flow built for table 0 does not pass the shifted pipeline, nor the other way round', () => {
    const [forward] = buildConnectionFlows({
      serviceId: 1, connectionId: 1, protocol: 'tcp', idleTimeout: 60,
      client: { ofport: 9, mac: '02:00:00:00:00:09', ip: '10.0.0.9', port: 1000 }, vip: { mac: '02:00:00:00:00:01', ip: '10.0.0.1', port: 80 },
      backend: { ofport: 2, mac: '02:00:00:00:00:02', ip: '10.0.0.2', port: 8080 },
    }, vadcTables(FIRST));
    expect(forward.tableId).toBe(FIRST + 1);
    expect(checkFlow(forward, vadcPipeline(FIRST))).toEqual([]);
    expect(checkFlow(forward, VADC_PIPELINE)).toContain(`table ${FIRST + 1} is not in the pipeline`);
    for (const flow of buildPipelineFlows(vadcTables(FIRST))) expect(checkFlow(flow, vadcPipeline(FIRST))).toEqual([]);
  });
  it('refuses a first table whose 4 tables do not fit below OpenFlow\'s last table', () => {
    expect(() => vadcTables(252)).toThrow(/outside 0\.\.251/);
    expect(() => parseConfig('datapath: { first_table: 252 }', 'x.yaml')).toThrow(/datapath\.first_table/);
  });
});

describe('pathFromTableZero', () => {
  const flow = (tableId: number, instructions: FlowStats['instructions']): FlowStats => ({
    tableId, durationSec: 0, durationNsec: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [], instructions,
  });
  const tables = (flows: FlowStats[]) => async (t: number) => flows.filter((f) => f.tableId === t);

  it('finds goto_table and resubmit(,N) paths through other tables, and reads each table once', async () => {
    const flows = [
      flow(0, [{ type: 'goto_table', tableId: 5 }]),
      flow(0, [{ type: 'apply_actions', actions: [{ type: 'output', port: 1, maxLen: 0 }] }]),
      flow(5, [{ type: 'apply_actions', actions: [{ type: 'nx_resubmit_table', inPort: 0xfff8, tableId: FIRST }] }]),
    ];
    expect(await pathFromTableZero(FIRST, tables(flows))).toEqual({ reachable: true, looked: [0, 5], path: [0, 5, FIRST] });
    expect(flowNextTables(flow(7, [{ type: 'apply_actions', actions: [{ type: 'nx_resubmit_table', inPort: 0xfff8, tableId: 255 }] }]))).toEqual([7]);
  });
  it('no path: says which tables it read; a path only past the first table does not count', async () => {
    const flows = [flow(0, [{ type: 'goto_table', tableId: 20 }]), flow(0, [{ type: 'goto_table', tableId: 3 }]), flow(3, [])];
    expect(await pathFromTableZero(FIRST, tables(flows))).toEqual({ reachable: false, looked: [0, 3] });
  });
  it('reads at most maxTables tables', async () => {
    const chain = Array.from({ length: FIRST }, (_, t) => flow(t, [{ type: 'goto_table', tableId: t + 1 }]));
    expect(await pathFromTableZero(FIRST, tables(chain), 4)).toEqual({ reachable: false, looked: [0, 1, 2, 3] });
    expect((await pathFromTableZero(FIRST, tables(chain))).reachable).toBe(true);
  });

  it('reads write_actions resubmits too, only resubmit actions, and skips instructions without actions', async () => {
    expect(flowNextTables(flow(2, [
      { type: 'meter', meterId: 4 },
      { type: 'clear_actions' },
      { type: 'apply_actions', actions: [{ type: 'output', port: 1, maxLen: 0 }, { type: 'nx_resubmit_table', inPort: 0xfff8, tableId: 6 }] },
      { type: 'write_actions', actions: [{ type: 'nx_resubmit_table', inPort: 0xfff8, tableId: 7 }] },
      { type: 'goto_table', tableId: 9 },
    ]))).toEqual([6, 7, 9]);
  });
  it('reads each table once however many flows lead to it', async () => {
    const flows = [
      flow(0, [{ type: 'goto_table', tableId: 4 }]), flow(0, [{ type: 'goto_table', tableId: 2 }]), flow(0, [{ type: 'goto_table', tableId: 4 }]),
      flow(2, [{ type: 'goto_table', tableId: 4 }]), flow(4, [{ type: 'goto_table', tableId: FIRST }]),
    ];
    expect(await pathFromTableZero(FIRST, tables(flows))).toEqual({ reachable: true, looked: [0, 4], path: [0, 4, FIRST] });
    expect(await pathFromTableZero(FIRST + 30, tables(flows))).toEqual({ reachable: false, looked: [0, 4, 2, FIRST] });
  });
});
