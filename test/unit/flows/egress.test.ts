// The egress builders (src/flows/egress.ts) at their edges, on the simulated switch where it matters: the queue
// numbering's limit, vadc's meter id range, the meter's rate and burst floors, where the tag goes in a flow's
// instructions, which table-0 entries a queued vNIC copies (each band's ends) and what the deletes take.
import { OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPMC_ADD, OFPMC_DELETE, OFPMF_BURST, OFPMF_KBPS, OFPMF_STATS } from '../../../src/openflow/constants';
import type { FlowMod, Instruction } from '../../../src/openflow/types';
import {
  EGRESS_METER_BASE, MAX_EGRESS_QUEUES, PRIORITY, QUEUED_ENTRY_MARK, VADC_PIPELINE, assignEgressQueues, buildDeleteAllEgressFlows, buildDeleteEgressFlow,
  buildDeleteQueuedEntries, buildEgressFlow, buildEgressMeter, buildPipelineFlows, buildQueuedEntryFlows, buildServiceFlows, checkFlow, egressMeterId,
  isClientEntry, isEgressMeterId, makeCookie, vadcTables, withEgressTag,
} from '../../../src/flows';
import { FakeFlowTable } from '../../helpers/fake-flow-table';

const VIP = '10.0.0.100';
const entries = (): FlowMod[] => buildServiceFlows({ serviceId: 7, vip: VIP, protocol: 'tcp', port: 80 });
const tcpTo = (dst: string, port: number) => ({ eth_src: '52:54:00:00:00:01', eth_dst: '02:00:0a:00:00:64', eth_type: 0x0800, ip_proto: 6, ipv4_src: '10.0.0.11', ipv4_dst: dst, tcp_src: 40000, tcp_dst: port });

describe('egress queues and meters', () => {
  it(`numbers at most ${MAX_EGRESS_QUEUES} vNICs; the first queue of each vNIC counts`, () => {
    const many = Array.from({ length: MAX_EGRESS_QUEUES + 1 }, (_, i) => ({ vnic: `v${String(i).padStart(5, '0')}`, queue: { max_rate: i + 1 } }));
    const queues = assignEgressQueues(many);
    expect(queues).toHaveLength(MAX_EGRESS_QUEUES);
    expect(queues.at(-1)).toEqual({ vnic: 'v04095', queueId: MAX_EGRESS_QUEUES, queue: { max_rate: MAX_EGRESS_QUEUES } });
    expect(assignEgressQueues([{ vnic: 'b', queue: { max_rate: 1 } }, { vnic: 'a' }, { vnic: 'b', queue: { max_rate: 2 } }]))
      .toEqual([{ vnic: 'b', queueId: 1, queue: { max_rate: 1 } }]);
  });

  it("vadc's egress meter ids are base + 1 .. base + the most queues", () => {
    expect(egressMeterId(1)).toBe(EGRESS_METER_BASE + 1);
    expect([EGRESS_METER_BASE, EGRESS_METER_BASE + 1, EGRESS_METER_BASE + MAX_EGRESS_QUEUES, EGRESS_METER_BASE + MAX_EGRESS_QUEUES + 1].map(isEgressMeterId))
      .toEqual([false, true, true, false]);
  });

  it('a meter polices at the max_rate in kbit/s rounded up, with a burst of 0.2 s, each at least 1', () => {
    const [del, add] = buildEgressMeter(3, 50_000_000);
    expect(del).toEqual({ type: 'meter_mod', xid: 0, command: OFPMC_DELETE, flags: 0, meterId: EGRESS_METER_BASE + 3, bands: [] });
    expect(add).toEqual({
      type: 'meter_mod', xid: 0, command: OFPMC_ADD, flags: OFPMF_KBPS | OFPMF_BURST | OFPMF_STATS, meterId: EGRESS_METER_BASE + 3,
      bands: [{ type: 'drop', rate: 50_000, burstSize: 10_000 }],
    });
    expect(buildEgressMeter(3, 1_001)[1].bands).toEqual([{ type: 'drop', rate: 2, burstSize: 1 }]);
    expect(buildEgressMeter(3, 12_001)[1].bands).toEqual([{ type: 'drop', rate: 13, burstSize: 3 }]);
    expect(buildEgressMeter(3, 0)[1].bands).toEqual([{ type: 'drop', rate: 1, burstSize: 1 }]);
  });
});

describe('withEgressTag', () => {
  const apply: Instruction = { type: 'apply_actions', actions: [{ type: 'output', port: 3, maxLen: 0 }] };
  const goto: Instruction = { type: 'goto_table', tableId: 2 };

  it('puts set_queue at the head of the first apply_actions, the meter before everything', () => {
    expect(withEgressTag([apply, goto], { queueId: 4, metered: true })).toEqual([
      { type: 'meter', meterId: EGRESS_METER_BASE + 4 },
      { type: 'apply_actions', actions: [{ type: 'set_queue', queueId: 4 }, { type: 'output', port: 3, maxLen: 0 }] }, goto,
    ]);
    expect(withEgressTag([apply], { queueId: 4, metered: false })).toEqual([
      { type: 'apply_actions', actions: [{ type: 'set_queue', queueId: 4 }, { type: 'output', port: 3, maxLen: 0 }] },
    ]);
  });

  it('gives set_queue an apply_actions of its own before a goto, or in an empty list', () => {
    expect(withEgressTag([goto], { queueId: 2, metered: false })).toEqual([{ type: 'apply_actions', actions: [{ type: 'set_queue', queueId: 2 }] }, goto]);
    expect(withEgressTag([], { queueId: 2, metered: true })).toEqual([
      { type: 'meter', meterId: EGRESS_METER_BASE + 2 }, { type: 'apply_actions', actions: [{ type: 'set_queue', queueId: 2 }] },
    ]);
  });
});

describe('egress flows', () => {
  it("tags the vNIC's packets from vadc's first table, and its deletes take exactly its flow or every egress flow", () => {
    const t = vadcTables(10);
    const flow = buildEgressFlow({ ofport: 7, queueId: 3, metered: true }, t);
    expect(flow).toMatchObject({ tableId: 10, priority: PRIORITY.EGRESS.min, command: OFPFC_ADD, cookie: makeCookie('egress', 0, 3), match: [{ field: 'in_port', value: 7 }] });
    expect(flow.instructions.at(-1)).toEqual({ type: 'goto_table', tableId: 12 });
    expect(checkFlow(buildEgressFlow({ ofport: 7, queueId: 3, metered: true }), VADC_PIPELINE)).toEqual([]);

    const table = new FakeFlowTable();
    table.applyAll([...buildPipelineFlows(), buildEgressFlow({ ofport: 7, queueId: 3, metered: false }), buildEgressFlow({ ofport: 8, queueId: 4, metered: false })]);
    const del = buildDeleteEgressFlow(7);
    expect(del).toMatchObject({ command: OFPFC_DELETE_STRICT, priority: PRIORITY.EGRESS.min, match: [{ field: 'in_port', value: 7 }], instructions: [] });
    expect(checkFlow(del, VADC_PIPELINE)).toEqual([]);
    table.apply(del);
    expect(table.flows(0).filter((f) => f.priority === PRIORITY.EGRESS.min).map((f) => f.match)).toEqual([[{ field: 'in_port', value: 8 }]]);
    const all = buildDeleteAllEgressFlows();
    expect(all).toMatchObject({ command: OFPFC_DELETE, match: [], tableId: 0, instructions: [] });
    expect(checkFlow(all, VADC_PIPELINE)).toEqual([]);
    table.apply(all);
    expect(table.flows(0).filter((f) => f.priority === PRIORITY.EGRESS.min)).toEqual([]);
    expect(table.flows(0).length).toBeGreaterThan(0);
  });

  it("copies a table-0 client-side entry at each band's ends, and nothing else", () => {
    const at = (priority: number, tableId = 0, command = OFPFC_ADD): FlowMod => ({ ...entries()[0], priority, tableId, command });
    const copied = (f: FlowMod) => buildQueuedEntryFlows([f], { ofport: 9, queueId: 1, metered: false }).map((c) => c.priority);
    for (const [from, to] of [
      [PRIORITY.SERVICE, PRIORITY.QUEUED_SERVICE], [PRIORITY.END_COPY, PRIORITY.QUEUED_END_COPY],
      [PRIORITY.SERVICE6, PRIORITY.QUEUED_SERVICE6], [PRIORITY.END_COPY6, PRIORITY.QUEUED_END_COPY6],
    ]) {
      expect(copied(at(from.min))).toEqual([to.min]);
      expect(copied(at(from.max))).toEqual([to.max]);
      expect(isClientEntry(at(from.min))).toBe(true);
      expect(isClientEntry(at(from.max))).toBe(true);
    }
    for (const p of [PRIORITY.SERVICE.min - 1, PRIORITY.SERVICE.max + 1, PRIORITY.END_COPY.max + 1, PRIORITY.SERVICE6.min - 1, PRIORITY.END_COPY6.max + 1]) {
      expect(copied(at(p))).toHaveLength(0);
      expect(isClientEntry(at(p))).toBe(false);
    }
    expect(isClientEntry(at(PRIORITY.SERVICE.min, 1))).toBe(false);
    expect(isClientEntry(at(PRIORITY.SERVICE.min, 0, OFPFC_DELETE))).toBe(false);
    expect(isClientEntry(at(PRIORITY.SERVICE.min, 10), vadcTables(10))).toBe(true);
  });

  it("a queued vNIC's packets to the VIP take its copy (queue and meter), other vNICs' the entry; the copies' delete takes only them", () => {
    const table = new FakeFlowTable();
    const base = [...buildPipelineFlows(), ...entries()];
    const copies = buildQueuedEntryFlows(base.filter((f) => isClientEntry(f)), { ofport: 9, queueId: 5, metered: true });
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      expect(checkFlow(c, VADC_PIPELINE)).toEqual([]);
      expect(c.cookie & QUEUED_ENTRY_MARK).toBe(QUEUED_ENTRY_MARK);
      expect(c.match[0]).toEqual({ field: 'in_port', value: 9 });
    }
    table.applyAll([...base, ...copies, ...buildQueuedEntryFlows(base.filter((f) => isClientEntry(f)), { ofport: 10, queueId: 6, metered: false })]);
    const [queued] = table.process(tcpTo(VIP, 80), 9);
    expect(queued).toMatchObject({ kind: 'controller', fields: expect.objectContaining({ queue: 5, meter: EGRESS_METER_BASE + 5 }) });
    const [plain] = table.process(tcpTo(VIP, 80), 11);
    expect(plain.kind === 'controller' && plain.fields.queue).toBeUndefined();

    const one = buildDeleteQueuedEntries(9);
    expect(one).toMatchObject({ command: OFPFC_DELETE, tableId: 0, priority: 0, match: [{ field: 'in_port', value: 9 }] });
    expect(checkFlow(one, VADC_PIPELINE)).toEqual([]);
    table.apply(one);
    expect(table.process(tcpTo(VIP, 80), 9)[0]).toMatchObject({ kind: 'controller', fields: expect.not.objectContaining({ queue: 5 }) });
    expect(table.process(tcpTo(VIP, 80), 10)[0]).toMatchObject({ kind: 'controller', fields: expect.objectContaining({ queue: 6 }) });
    const every = buildDeleteQueuedEntries(undefined, vadcTables(0));
    expect(every.match).toEqual([]);
    table.apply(every);
    expect(table.flows(0).filter((f) => (f.cookie & QUEUED_ENTRY_MARK) !== 0n)).toEqual([]);
    expect(table.flows(0).filter((f) => isClientEntry(f))).toHaveLength(base.filter((f) => isClientEntry(f)).length);
  });
});
