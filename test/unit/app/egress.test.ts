// Egress queues: everything a queued backend's vNIC sends leaves with its queue set (and, policed, through its
// meter), in every NAT mode; other vNICs' traffic is untouched; the flows follow the configuration and the vNIC's
// location. The fake flow table runs the real flows (each checked against the pipeline by the harness).
import { assignEgressQueues, buildEgressFlow, checkFlow, EGRESS_METER_BASE, egressMeterId, PRIORITY, VADC_PIPELINE } from '../../../src/flows';
import { REPLY_GUARD_METER_ID } from '../../../src/flows/reply-guard';
import { OFPMC_ADD, OFPMC_DELETE } from '../../../src/openflow/constants';
import type { MeterMod } from '../../../src/openflow/types';
import { ipv4Frame } from '../../helpers/frames';
import {
  AppHarness, backendYaml, CLIENT_PORT, delivered, fromBackend, fromClient, NAT_MODES, VMS, type NatModeCase, type VmName,
} from '../../helpers/app-harness';
import type { Outcome } from '../../helpers/fake-flow-table';

const SINK = { ip: '10.0.0.200', mac: '52:54:00:00:02:00' };

function services(police: boolean, q1 = 'queue: { max_rate: 50000000 }', q2 = 'queue: { max_rate: 20000000, priority: 1 }'): string {
  return `
egress: { port: uplink0, police: ${police} }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
${backendYaml('v-vm1', [8080], q1)}
${backendYaml('v-vm2', [8080], q2)}
${backendYaml('v-vm3', [8080])}
`;
}

/** A VM's own TCP traffic to a host that is not a VIP (iperf3 to a sink). */
const toSink = (vm: VmName) => ipv4Frame({ srcMac: VMS[vm].mac, dstMac: SINK.mac, srcIp: VMS[vm].ip, dstIp: SINK.ip, proto: 'tcp', srcPort: 40000, dstPort: 5201 });

function normal(outcomes: Outcome[]) {
  const out = outcomes.filter((o) => o.kind === 'normal');
  if (out.length !== 1) throw new Error(`expected one NORMAL output, got ${JSON.stringify(outcomes)}`);
  return out[0] as { fields: Record<string, unknown> };
}

describe('assignEgressQueues', () => {
  it('numbers queued vNICs from 1 in vNIC order, one queue per vNIC, whatever the order they come in', () => {
    const q = { max_rate: 1000 };
    expect(assignEgressQueues([{ vnic: 'b', queue: q }, { vnic: 'a', queue: { max_rate: 5 } }, { vnic: 'c' }, { vnic: 'b', queue: q }])).toEqual([
      { vnic: 'a', queueId: 1, queue: { max_rate: 5 } }, { vnic: 'b', queueId: 2, queue: q },
    ]);
  });
});

describe('the egress flow against the pipeline', () => {
  it('passes the checker metered and unmetered; a meter anywhere but first does not', () => {
    expect(checkFlow(buildEgressFlow({ ofport: 7, queueId: 3, metered: true }), VADC_PIPELINE)).toEqual([]);
    expect(checkFlow(buildEgressFlow({ ofport: 7, queueId: 3, metered: false }), VADC_PIPELINE)).toEqual([]);
    const flow = buildEgressFlow({ ofport: 7, queueId: 3, metered: true });
    expect(checkFlow({ ...flow, instructions: [...flow.instructions.slice(1), flow.instructions[0]] }, VADC_PIPELINE))
      .toEqual(['a meter instruction must come first (it polices before any action)']);
    // Only table 0 may police: a meter in vip-reverse is refused.
    expect(checkFlow({ ...flow, tableId: 2, priority: 1000, instructions: flow.instructions.slice(0, 2) }, VADC_PIPELINE))
      .toContain('instruction meter is not used by the vadc pipeline');
  });
});

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('egress queues, %s mode', (_name, mode: NatModeCase) => {
  it("tags a queued VM's own traffic with its queue and meter, and leaves an unqueued VM's alone", () => {
    const h = new AppHarness(mode, services(true));
    expect(normal(h.send(toSink('v-vm1'), VMS['v-vm1'].ofport).outcomes).fields).toMatchObject({ queue: 1, meter: egressMeterId(1), ipv4_dst: SINK.ip });
    expect(normal(h.send(toSink('v-vm2'), VMS['v-vm2'].ofport).outcomes).fields).toMatchObject({ queue: 2, meter: egressMeterId(2) });
    const plain = normal(h.send(toSink('v-vm3'), VMS['v-vm3'].ofport).outcomes).fields;
    expect(plain.queue).toBeUndefined();
    expect(plain.meter).toBeUndefined();
  });

  it('sends each meter before the flow that uses it, at the max_rate in kbit/s with a 0.2 s burst', () => {
    const h = new AppHarness(mode, services(true));
    const meters = h.sent.filter((m): m is MeterMod => m.type === 'meter_mod' && m.meterId !== 0xadc && m.meterId !== REPLY_GUARD_METER_ID);
    expect(meters.filter((m) => m.command === OFPMC_ADD).map((m) => [m.meterId, m.bands])).toEqual([
      [egressMeterId(1), [{ type: 'drop', rate: 50_000, burstSize: 10_000 }]],
      [egressMeterId(2), [{ type: 'drop', rate: 20_000, burstSize: 4_000 }]],
    ]);
    const firstUse = h.sent.findIndex((m) => m.type === 'flow_mod' && m.instructions.some((i) => i.type === 'meter' && i.meterId === egressMeterId(1)));
    const added = h.sent.findIndex((m) => m.type === 'meter_mod' && m.command === OFPMC_ADD && m.meterId === egressMeterId(1));
    expect(added).toBeGreaterThanOrEqual(0);
    expect(added).toBeLessThan(firstUse);
  });

  it('with vadc\'s tables moved (datapath.first_table: 10): the same tags, from table 10', () => {
    const h = new AppHarness(mode, services(true), { firstTable: 10 });
    expect(normal(h.send(toSink('v-vm1'), VMS['v-vm1'].ofport).outcomes).fields).toMatchObject({ queue: 1, meter: egressMeterId(1) });
    expect(h.table.flows(10).some((f) => f.instructions.some((i) => i.type === 'meter'))).toBe(true);
    expect(h.table.flows(0).some((f) => f.instructions.some((i) => i.type === 'meter'))).toBe(false);
  });

  it('without police: the queue only, no meter', () => {
    const h = new AppHarness(mode, services(false));
    const f = normal(h.send(toSink('v-vm1'), VMS['v-vm1'].ofport).outcomes).fields;
    expect(f.queue).toBe(1);
    expect(f.meter).toBeUndefined();
    expect(h.sent.some((m) => m.type === 'meter_mod' && m.meterId !== 0xadc && m.meterId !== REPLY_GUARD_METER_ID)).toBe(false);
  });

  it('still balances: a client reaches the VIP and the queued backend answers it', () => {
    const h = new AppHarness(mode, services(true));
    const seen = new Set<number>();
    for (let p = 41000; p < 41006; p++) seen.add(delivered(h.send(fromClient(p)).outcomes).port);
    expect(seen).toEqual(new Set([VMS['v-vm1'].ofport, VMS['v-vm2'].ofport, VMS['v-vm3'].ofport]));
  });

  it('removing a queue from the configuration removes its flow and meter; the VM sends untagged again', () => {
    const h = new AppHarness(mode, services(true));
    h.sent.length = 0;
    const next = AppHarness.config(mode, services(true, ''));
    h.install(h.app.setServices(next.services, h.now));
    const f = normal(h.send(toSink('v-vm1'), VMS['v-vm1'].ofport).outcomes).fields;
    expect(f.queue).toBeUndefined();
    // vm2 is now the only queued vNIC: queue 1 (the ids follow the configuration).
    expect(normal(h.send(toSink('v-vm2'), VMS['v-vm2'].ofport).outcomes).fields).toMatchObject({ queue: 1, meter: egressMeterId(1) });
    expect(h.sent.some((m) => m.type === 'meter_mod' && m.command === OFPMC_DELETE && m.meterId === egressMeterId(2))).toBe(true);
  });

  it('follows the vNIC: gone from the switch, its flow goes; back on another port, the flow is there', () => {
    const h = new AppHarness(mode, services(false));
    h.sw.ports.delete(VMS['v-vm1'].ofport);
    h.install(h.app.portStatus(h.sw, { type: 'port_status', xid: 0, reason: 1, desc: { portNo: 1 } } as never, h.now));
    expect(h.table.flows(0).some((f) => f.match.some((m) => m.field === 'in_port' && m.value === VMS['v-vm1'].ofport))).toBe(false);
    h.sw.ports.set(9, { ...portOf(h, 2), portNo: 9, name: 'v-vm1' });
    h.install(h.app.portStatus(h.sw, { type: 'port_status', xid: 0, reason: 0, desc: { portNo: 9 } } as never, h.now));
    expect(normal(h.send(toSink('v-vm1'), 9).outcomes).fields.queue).toBe(1);
  });
});

function portOf(h: AppHarness, portNo: number) {
  return h.sw.ports.get(portNo)!;
}

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('the load-balanced replies of a queued backend, %s mode', (_name, mode) => {
  it('leave for the client NATed back to the VIP, in the backend\'s queue and through its meter', () => {
    const h = new AppHarness(mode, services(true));
    const tags = new Map<VmName, unknown>([['v-vm1', { queue: 1, meter: egressMeterId(1) }], ['v-vm2', { queue: 2, meter: egressMeterId(2) }], ['v-vm3', {}]]);
    const seen = new Set<VmName>();
    for (let p = 42000; p < 42012; p++) {
      const port = delivered(h.send(fromClient(p)).outcomes).port;
      const vm = (Object.keys(VMS) as VmName[]).find((n) => VMS[n].ofport === port)!;
      seen.add(vm);
      const reply = delivered(h.send(fromBackend(vm, p), port).outcomes);
      expect(reply.port).toBe(CLIENT_PORT);
      expect(reply.fields.ipv4_src).toBe('10.0.0.100');
      expect({ queue: reply.fields.queue, meter: reply.fields.meter }).toEqual({ queue: undefined, meter: undefined, ...(tags.get(vm) as object) });
    }
    expect(seen.size).toBe(3);
  });

  // The connection-end copies (datapath.end_copies, on by default) shadow a backend's FIN and RST with flows of
  // their own above the EGRESS band: they must carry the backend's tag too, or its last segments leave unqueued.
  it.each([['FIN', 0x11], ['RST', 0x04]] as const)('a %s from the backend is copied to vadc and leaves in its queue, through its meter', (_flag, flags) => {
    const h = new AppHarness(mode, services(true));
    const tags = new Map<VmName, unknown>([['v-vm1', { queue: 1, meter: egressMeterId(1) }], ['v-vm2', { queue: 2, meter: egressMeterId(2) }], ['v-vm3', {}]]);
    // Every connection first (a closed one changes where the next goes), then each backend ends its own.
    const opened = new Map<number, VmName>();
    for (let p = 43000; p < 43012; p++) {
      const port = delivered(h.send(fromClient(p)).outcomes).port;
      opened.set(p, (Object.keys(VMS) as VmName[]).find((n) => VMS[n].ofport === port)!);
    }
    expect(new Set(opened.values()).size).toBe(3);
    for (const [p, vm] of opened) {
      const port = VMS[vm].ofport;
      const copiesBefore = h.endCopies;
      const end = delivered(h.send(fromBackend(vm, p, { flags }), port).outcomes);
      expect(h.endCopies).toBe(copiesBefore + 1);
      expect(end.port).toBe(CLIENT_PORT);
      expect({ queue: end.fields.queue, meter: end.fields.meter }).toEqual({ queue: undefined, meter: undefined, ...(tags.get(vm) as object) });
    }
  });
});

// A config apply that adds or removes the egress section, or flips `police`, swaps the app's tagger in place (it
// used to need a restart): the EGRESS flows, meters and reply-path tags follow, the balancing goes on.
describe.each(NAT_MODES.map((m) => [m.name, m] as const))('egress turned on and off in a running app, %s mode', (_name, mode) => {
  const plainServices = services(true).replace(/^egress:.*$/m, '').replace(/, queue: \{[^}]*\}/g, '');
  const vadcMeters = (h: AppHarness) => h.sent.filter((m): m is MeterMod => m.type === 'meter_mod' && m.meterId > EGRESS_METER_BASE);
  const apply = (h: AppHarness, yaml: string) => {
    const next = AppHarness.config(mode, yaml);
    h.install(h.app.setServices(next.services, h.now, { egress: next.egress }));
  };
  /** What a queued VM's own traffic and its load-balanced reply leave with. */
  const tags = (h: AppHarness, clientPort: number) => {
    const own = normal(h.send(toSink('v-vm1'), VMS['v-vm1'].ofport).outcomes).fields;
    // Connections until one lands on vm1, then its reply.
    for (let p = clientPort; p < clientPort + 12; p++) {
      if (delivered(h.send(fromClient(p)).outcomes).port !== VMS['v-vm1'].ofport) continue;
      const reply = delivered(h.send(fromBackend('v-vm1', p), VMS['v-vm1'].ofport).outcomes).fields;
      return { own: { queue: own.queue, meter: own.meter }, reply: { queue: reply.queue, meter: reply.meter } };
    }
    throw new Error('no connection reached v-vm1');
  };

  it('on: the queued VM is tagged and policed from the apply on; off again: untagged, its flows and meters gone', () => {
    const h = new AppHarness(mode, plainServices);
    const none = { queue: undefined, meter: undefined };
    expect(tags(h, 44000)).toEqual({ own: none, reply: none });
    apply(h, services(true));
    const tagged = { queue: 1, meter: egressMeterId(1) };
    expect(tags(h, 44100)).toEqual({ own: tagged, reply: tagged });
    expect(vadcMeters(h).filter((m) => m.command === OFPMC_ADD).map((m) => m.meterId).sort()).toEqual([egressMeterId(1), egressMeterId(2)]);
    h.sent.length = 0;
    apply(h, plainServices);
    expect(tags(h, 44200)).toEqual({ own: none, reply: none });
    expect(h.table.flows(0).some((f) => f.instructions.some((i) => i.type === 'meter' || (i.type === 'apply_actions' && i.actions.some((a) => a.type === 'set_queue'))))).toBe(false);
    expect(vadcMeters(h).filter((m) => m.command === OFPMC_DELETE).map((m) => m.meterId).sort()).toEqual([egressMeterId(1), egressMeterId(2)]);
    // On again: each meter's last word in the batch is its ADD (a DELETE after it would take the meter and every
    // flow naming it off the switch; the fake table does not model meters, so the order is checked).
    h.sent.length = 0;
    apply(h, services(true));
    expect(tags(h, 44300)).toEqual({ own: tagged, reply: tagged });
    for (const id of [egressMeterId(1), egressMeterId(2)]) {
      const last = vadcMeters(h).filter((m) => m.meterId === id).pop();
      expect(last?.command).toBe(OFPMC_ADD);
    }
  });

  it('police flipped: the meters come and go, the queues stay; a meter is deleted only after no flow names it', () => {
    const h = new AppHarness(mode, services(false));
    expect(tags(h, 45000)).toEqual({ own: { queue: 1, meter: undefined }, reply: { queue: 1, meter: undefined } });
    apply(h, services(true));
    expect(tags(h, 45100)).toEqual({ own: { queue: 1, meter: egressMeterId(1) }, reply: { queue: 1, meter: egressMeterId(1) } });
    h.sent.length = 0;
    apply(h, services(false));
    expect(tags(h, 45200)).toEqual({ own: { queue: 1, meter: undefined }, reply: { queue: 1, meter: undefined } });
    // In the batch, every flow naming meter 1 is replaced before the meter goes (OVS would delete such flows with it).
    const deletedAt = h.sent.findIndex((m) => m.type === 'meter_mod' && m.command === OFPMC_DELETE && m.meterId === egressMeterId(1));
    expect(deletedAt).toBeGreaterThan(0);
    const namesMeter = (m: (typeof h.sent)[number]) => m.type === 'flow_mod' && m.command === 0 && m.instructions.some((i) => i.type === 'meter');
    expect(h.sent.slice(deletedAt).some(namesMeter)).toBe(false);
  });

  it('a switch that was away when the section was removed loses the old tagging flows when it comes back', () => {
    const h = new AppHarness(mode, services(true));
    h.install(h.app.switchDown(h.sw.dpid, h.now));
    apply(h, plainServices);
    // The switch kept everything (as OVS does across a controller outage) and now reconnects.
    h.install(h.app.switchUp(h.sw, h.now));
    const own = normal(h.send(toSink('v-vm1'), VMS['v-vm1'].ofport).outcomes).fields;
    expect({ queue: own.queue, meter: own.meter }).toEqual({ queue: undefined, meter: undefined });
    expect(h.sent.filter((m) => m.type === 'meter_mod' && m.command === OFPMC_DELETE).map((m) => (m as MeterMod).meterId)).toEqual(expect.arrayContaining([egressMeterId(1), egressMeterId(2)]));
  });

  // What the switch answers to the daemon's meter read after it connects: vadc's two meters, an operator's meter 7,
  // the reply guard's meter (outside the egress range).
  const onSwitch = [egressMeterId(1), egressMeterId(2), 7, REPLY_GUARD_METER_ID];
  const deleted = (h: AppHarness) => vadcMeters(h).filter((m) => m.command === OFPMC_DELETE).map((m) => m.meterId).sort();

  it('a switch away through two changes (police off, then the section gone) loses both meters when it comes back', () => {
    const h = new AppHarness(mode, services(true));
    h.install(h.app.switchDown(h.sw.dpid, h.now));
    apply(h, services(false));
    apply(h, plainServices);
    h.install(h.app.switchUp(h.sw, h.now));
    h.sent.length = 0;
    h.install(h.app.metersFound(h.sw.dpid, onSwitch));
    expect(deleted(h)).toEqual([egressMeterId(1), egressMeterId(2)]);
    expect(h.sent.some((m) => m.type === 'meter_mod' && [7, REPLY_GUARD_METER_ID].includes(m.meterId))).toBe(false);
  });

  it("a queue removed while the switch was away: its meter goes on return, the kept queue's meter and tag stay", () => {
    const h = new AppHarness(mode, services(true));
    h.install(h.app.switchDown(h.sw.dpid, h.now));
    apply(h, services(true, 'queue: { max_rate: 50000000 }', ''));
    h.install(h.app.switchUp(h.sw, h.now));
    h.sent.length = 0;
    h.install(h.app.metersFound(h.sw.dpid, onSwitch));
    expect(deleted(h)).toEqual([egressMeterId(2)]);
    const own = normal(h.send(toSink('v-vm1'), VMS['v-vm1'].ofport).outcomes).fields;
    expect({ queue: own.queue, meter: own.meter }).toEqual({ queue: 1, meter: egressMeterId(1) });
  });

  it("a switch holding vadc's current meters and others' gets nothing from the meter read", () => {
    const h = new AppHarness(mode, services(true));
    h.sent.length = 0;
    h.install(h.app.metersFound(h.sw.dpid, onSwitch));
    expect(h.sent).toEqual([]);
  });

  it('an apply that keeps the egress section as it is sends no egress teardown', () => {
    const h = new AppHarness(mode, services(true));
    h.sent.length = 0;
    apply(h, services(true));
    expect(vadcMeters(h)).toEqual([]);
    expect(h.sent.some((m) => m.type === 'flow_mod' && m.command !== 0 && (m.cookie >> 44n) === 8n)).toBe(false);
  });
});

describe('a queued backend\'s SYN-ACK that the reply guard (datapath.reply_guard, off by default) sends through vadc (flows mode)', () => {
  it('comes back through table 0 and leaves in the backend\'s queue, through its meter', () => {
    const h = new AppHarness({ name: 'flows', datapath: 'datapath: { reply_guard: 5000 }' } as unknown as NatModeCase, services(true));
    // No connection took it (a stale megaflow's case): the guard sends it up, vadc sends it back past the guard.
    const out = h.send(fromBackend('v-vm1', 46000), VMS['v-vm1'].ofport);
    const left = out.outcomes.filter((o) => o.kind === 'normal' || o.kind === 'output');
    expect(h.packetIns).toBeGreaterThan(0);
    expect(left).toHaveLength(1);
    expect({ queue: (left[0] as { fields: Record<string, unknown> }).fields.queue, meter: (left[0] as { fields: Record<string, unknown> }).fields.meter })
      .toEqual({ queue: 1, meter: egressMeterId(1) });
  });
});

// A queued VM that is itself a client of a service (a VIP whose backends do not include it): the service's table-0
// entry matches any port and outranks the EGRESS flow, so the vNIC has tagged copies of the entries of its own.
describe.each(NAT_MODES.map((m) => [m.name, m] as const))('a queued VM as a client of a VIP, %s mode', (_name, mode) => {
  const API = { vip: '10.0.0.150', mac: '02:00:0a:00:00:96' };
  const withApi = (police: boolean, extra = '') => `${services(police)}
  - name: api
    vip: ${API.vip}
    port: 80${extra}
    backends:
${backendYaml('v-vm3', [8080])}
`;
  const toApi = (vm: VmName, srcPort: number, tcpFlags: number) =>
    ipv4Frame({ srcMac: VMS[vm].mac, dstMac: API.mac, srcIp: VMS[vm].ip, dstIp: API.vip, proto: 'tcp', srcPort, dstPort: 80, tcpFlags });
  const tagOf = (fields: Record<string, unknown>) => ({ queue: fields.queue, meter: fields.meter });

  it('its packets reach the backend NATed, in its queue and through its meter; an unqueued client\'s do not', () => {
    const h = new AppHarness(mode, withApi(true));
    for (const [vm, queue] of [['v-vm1', 1], ['v-vm2', 2]] as const) {
      const syn = delivered(h.send(toApi(vm, 47000, 0x02), VMS[vm].ofport).outcomes);
      expect(syn.port).toBe(VMS['v-vm3'].ofport);
      expect(syn.fields).toMatchObject({ ipv4_dst: VMS['v-vm3'].ip, tcp_dst: 8080, queue });
      // Flows mode resubmits the first packet through the tables (the tagged entry again); conntrack mode's commit
      // packet-out sets the queue itself (the packet passed the meter on its way up, in the same entry).
      if (mode.name === 'flows') expect(syn.fields.meter).toBe(egressMeterId(queue));
      const ack = delivered(h.send(toApi(vm, 47000, 0x10), VMS[vm].ofport).outcomes);
      expect(ack.port).toBe(VMS['v-vm3'].ofport);
      expect(ack.fields.ipv4_dst).toBe(VMS['v-vm3'].ip);
      expect(tagOf(ack.fields)).toEqual({ queue, meter: egressMeterId(queue) });
    }
    // The client on the client port (no queue) reaches the same service untagged.
    const plain = delivered(h.send(ipv4Frame({
      srcMac: '52:54:00:00:00:65', dstMac: API.mac, srcIp: '10.0.0.101', dstIp: API.vip, proto: 'tcp', srcPort: 47001, dstPort: 80, tcpFlags: 0x02,
    }), CLIENT_PORT).outcomes);
    expect(plain.port).toBe(VMS['v-vm3'].ofport);
    expect(tagOf(plain.fields)).toEqual({ queue: undefined, meter: undefined });
  });

  // Conntrack mode with `decisions: datapath`: the select group commits the connection and recirculates it; the queue
  // set in table 0 goes along (no packet-in at all).
  if (mode.name === 'conntrack') {
    it('with datapath decisions: its packets reach the backend through the select group, in its queue and through its meter', () => {
      const h = new AppHarness(mode, withApi(true, '\n    scheduler: rr\n    decisions: datapath'));
      const before = h.packetIns;
      for (const flags of [0x02, 0x10]) {
        const out = delivered(h.send(toApi('v-vm1', 47300, flags), VMS['v-vm1'].ofport).outcomes);
        expect(out.port).toBe(VMS['v-vm3'].ofport);
        expect(out.fields.ipv4_dst).toBe(VMS['v-vm3'].ip);
        expect(tagOf(out.fields)).toEqual({ queue: 1, meter: egressMeterId(1) });
      }
      expect(h.packetIns).toBe(before);
    });
  }

  it('its FIN is copied to vadc and still leaves in its queue, through its meter', () => {
    const h = new AppHarness(mode, withApi(true));
    delivered(h.send(toApi('v-vm1', 47100, 0x02), VMS['v-vm1'].ofport).outcomes);
    const copies = h.endCopies;
    const fin = delivered(h.send(toApi('v-vm1', 47100, 0x11), VMS['v-vm1'].ofport).outcomes);
    expect(h.endCopies).toBe(copies + 1);
    expect(fin.port).toBe(VMS['v-vm3'].ofport);
    expect(tagOf(fin.fields)).toEqual({ queue: 1, meter: egressMeterId(1) });
  });

  it('without police: the queue only; the queue taken out of the configuration: untagged again', () => {
    const h = new AppHarness(mode, withApi(false));
    delivered(h.send(toApi('v-vm1', 47200, 0x02), VMS['v-vm1'].ofport).outcomes);
    expect(tagOf(delivered(h.send(toApi('v-vm1', 47200, 0x10), VMS['v-vm1'].ofport).outcomes).fields)).toEqual({ queue: 1, meter: undefined });
    const next = AppHarness.config(mode, withApi(false).replace('queue: { max_rate: 50000000 }', ''));
    h.install(h.app.setServices(next.services, h.now));
    delivered(h.send(toApi('v-vm1', 47201, 0x02), VMS['v-vm1'].ofport).outcomes);
    expect(tagOf(delivered(h.send(toApi('v-vm1', 47201, 0x10), VMS['v-vm1'].ofport).outcomes).fields)).toEqual({ queue: undefined, meter: undefined });
    // vm2 is queue 1 now: its copies were made again with the new id.
    delivered(h.send(toApi('v-vm2', 47202, 0x02), VMS['v-vm2'].ofport).outcomes);
    expect(tagOf(delivered(h.send(toApi('v-vm2', 47202, 0x10), VMS['v-vm2'].ofport).outcomes).fields)).toEqual({ queue: 1, meter: undefined });
  });
});

// A queued vNIC's packets to a VIP enter by its tagged copies of the service's table-0 entries, the client-side end
// copies among them: a service whose client side stops copying FINs must lose the queued copy of its FIN flow too,
// or that vNIC's FINs to the VIP go on coming up to vadc.
describe.each(NAT_MODES.map((m) => [m.name, m] as const))("a queued vNIC's copies of the client-side end copies, %s mode", (_name, mode) => {
  /** rr over the three VMs, vm1 queued; `threshold`: each backend's u_threshold (OVERLOAD clears as connections end: client FINs copied). */
  const rrWeb = (threshold: boolean) => `
egress: { port: uplink0, police: false }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    fin_timeout: 2
    backends:
${backendYaml('v-vm1', [8080], `queue: { max_rate: 50000000 }${threshold ? ', u_threshold: 100' : ''}`)}
${backendYaml('v-vm2', [8080], threshold ? 'u_threshold: 100' : '')}
${backendYaml('v-vm3', [8080], threshold ? 'u_threshold: 100' : '')}
`;
  /** vm1, as a client of the VIP, sends a FIN from `clientPort`: whether it came up to vadc as an end copy. */
  const finFromVm1Copied = (h: AppHarness, clientPort: number): boolean => {
    const before = h.endCopies;
    h.send(fromClient(clientPort, { clientIp: VMS['v-vm1'].ip }), VMS['v-vm1'].ofport);
    h.send(fromClient(clientPort, { clientIp: VMS['v-vm1'].ip, flags: 0x11 }), VMS['v-vm1'].ofport);
    return h.endCopies > before;
  };

  /** The queued vNIC's FIN copy flows (QUEUED_END_COPY band, matching FIN). */
  const queuedFinCopies = (h: AppHarness) => h.table.flows().filter((f) => f.priority >= PRIORITY.QUEUED_END_COPY.min && f.priority <= PRIORITY.QUEUED_END_COPY.max
    && f.match.some((m) => m.field === 'tcp_flags' && m.value === 0x01));

  it('a FIN copy of the client side goes from the queued entries when the service copies RSTs alone; it comes back with the thresholds', () => {
    const h = new AppHarness(mode, rrWeb(true));
    expect(queuedFinCopies(h)).toHaveLength(1);
    expect(finFromVm1Copied(h, 47000)).toBe(true);
    // The tracker's listing is a backstop with copies on: the service never copies RSTs alone (endCopySides).
    if (h.app.accountingSource === 'tracker') return;
    const next = AppHarness.config(mode, rrWeb(false));
    h.install(h.app.setServices(next.services, h.now, { egress: next.egress }));
    expect(queuedFinCopies(h)).toEqual([]);
    expect(finFromVm1Copied(h, 47001)).toBe(false);
    // Other clients' FINs are not copied either (the table-0 flow went as before).
    const before = h.endCopies;
    h.send(fromClient(47002));
    h.send(fromClient(47002, { flags: 0x11 }));
    expect(h.endCopies).toBe(before);
    const back = AppHarness.config(mode, rrWeb(true));
    h.install(h.app.setServices(back.services, h.now, { egress: back.egress }));
    expect(finFromVm1Copied(h, 47003)).toBe(true);
  });
});
