import { stringify } from 'yaml';
import { LoadBalancerApp } from '../../../src/app';
import type { SwitchInfo } from '../../../src/controller/types';
import { parseConfig } from '../../../src/config';
import { endCopyService, makeCookie } from '../../../src/flows/cookies';
import { parsePacket, TCP_FLAGS } from '../../../src/flows/packets';
import { TABLE } from '../../../src/flows/pipeline';
import { decode, encode, OFP_NO_BUFFER, OFPR_NO_MATCH } from '../../../src/openflow';
import type { FlowMod, MeterMod, OfpMessage, PacketIn } from '../../../src/openflow';
import { compareEndCopies, formatEndCopiesComparison, runFlowSetupEndCopies } from '../../../src/bench/end-copies-compare';
import { END_FLAGS, EndCopyLearner, EndCopyTemplate, PacketMeter } from '../../../src/bench/end-copies';
import type { FlowSetupResult } from '../../../src/bench/flowsetup';
import { buildFrameTemplate, writeClient, type BenchFamily } from '../../../src/bench/frames';
import { benchConfig, planSwitches, withDefaults } from '../../../src/bench/plan';
import { buildPorts } from '../../../src/bench/switch-replies';

describe("the emulated datapath's meter", () => {
  it('passes a burst, then as many packets per second as its rate, dropping the rest', () => {
    const meter = new PacketMeter(1000, 4);
    const passed = (at: number) => meter.pass(at);
    expect([0, 0, 0, 0, 0].map(passed)).toEqual([true, true, true, true, false]);
    // 1 ms later one token is back (1000/s), 0.5 ms more not yet another.
    expect([1e6, 1e6, 1.5e6].map(passed)).toEqual([true, false, false]);
    // A long pause refills to the burst, not beyond.
    expect(Array.from({ length: 6 }, () => passed(1e9)).filter(Boolean)).toHaveLength(4);
    expect(() => new PacketMeter(0, 1)).toThrow(RangeError);
  });
});

/**
 * vadc's app as the bench's controller child runs it, for one bench switch: the switch learns the end-copy
 * flows and meter from what the app installs at switch-up, then a connection is set up by a SYN packet-in
 * and ended by the copies the switch builds. The app must take them as that connection's end.
 */
function benchSwitch(family: BenchFamily, nat: 'flows' | 'conntrack', endCopies = 5000) {
  // wlc: its FINs are copied both ways in either NAT mode (an rr service's client FIN is not in conntrack mode).
  const opts = withDefaults({ switches: 1, family, nat, endCopies, scheduler: 'wlc' });
  const [plan] = planSwitches(opts);
  const parsed = parseConfig(stringify(benchConfig(opts, [plan])), 'bench config');
  const app = new LoadBalancerApp(parsed.services, { datapath: parsed.datapath });
  const ports = buildPorts(0, plan.portNames);
  const sw: SwitchInfo = {
    dpid: plan.dpid, address: '127.0.0.1:1', connectedAt: 0,
    features: { type: 'features_reply', xid: 0, datapathId: plan.dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
    ports: new Map(ports.map((p) => [p.portNo, p])),
    counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, withheld: 0 },
  };
  const learner = new EndCopyLearner(plan.vip);
  const installed = app.switchUp(sw, 0).flatMap((b) => b.msgs) as OfpMessage[];
  for (const msg of installed) {
    // Through the wire, as the emulated switch gets them.
    const wire = decode(encode(msg));
    if (wire.type === 'flow_mod') learner.flowMod(wire as FlowMod);
    if (wire.type === 'meter_mod') learner.meterMod(wire as MeterMod);
  }
  const portNo = (name: string) => ports.find((p) => p.name === name)!.portNo;
  const spec = { protocol: 'tcp' as const, family, vipMac: plan.vipMac, vip: plan.vip, servicePort: opts.servicePort };
  const client = { ip: 0xac100007, port: 40000 };
  const syn = buildFrameTemplate(spec);
  writeClient(syn, 0, 'tcp', client, 1, family);
  const packetIn = (bytes: Buffer) => app.packetIn(sw, decode(bytes) as PacketIn, 1);
  const connect = () => packetIn(encode({
    type: 'packet_in', xid: 1, bufferId: OFP_NO_BUFFER, totalLen: syn.length, reason: OFPR_NO_MATCH, tableId: TABLE.FORWARD,
    cookie: makeCookie('pipeline'), match: [{ field: 'in_port', value: portNo(plan.clientPortName) }], data: syn,
  }));
  const copy = (template: EndCopyTemplate, to = client) => {
    const bytes = Buffer.alloc(template.length);
    template.write(bytes, 0, to, 2);
    return bytes;
  };
  const service = () => app.serviceStates()[0];
  const ended = () => [...service().backends.keys()].reduce((a, name) => a + (service().lb.backendById(name)?.completedConns ?? 0), 0);
  return { plan, learner, spec, client, connect, copy, packetIn, service, ended, portNo };
}

describe('emulated connection-end copies', () => {
  it.each([
    ['ipv4', 'flows'], ['ipv4', 'conntrack'], ['ipv6', 'flows'], ['ipv6', 'conntrack'],
  ] as const)('are learned from vadc\'s own flows and taken by vadc as the end of the connection (%s, %s NAT)', (family, nat) => {
    const b = benchSwitch(family, nat);
    const learned = b.learner.copies!;
    expect(endCopyService(learned.cookie)).toBe(b.service().id);
    expect(learned.client).toBe(true);
    // Both backends' two software ports have a reply-side copy flow.
    expect(learned.backends.map((e) => `${e.ip}:${e.port}`).sort()).toEqual(
      b.plan.backends.flatMap((e) => [8080, 8081].map((p) => `${e.ip}:${p}`)).sort(),
    );
    expect(b.learner.meter()).toMatchObject({ rate: 5000, burst: 1250 });

    expect(b.connect().length).toBeGreaterThan(0);
    const clientFin = new EndCopyTemplate({ ...b.spec, tcpFlags: END_FLAGS }, learned.cookie, TABLE.CLASSIFY, b.portNo(b.plan.clientPortName));
    const backend = learned.backends[0];
    const backendFin = new EndCopyTemplate(
      { ...b.spec, tcpFlags: END_FLAGS, from: backend }, learned.cookie, TABLE.CLASSIFY, b.portNo(b.plan.backends.find((e) => e.ip === backend.ip)!.portName),
    );
    // The backend's FIN really goes from the backend to the client, with a FIN flag.
    const frame = parsePacket((decode(b.copy(backendFin)) as PacketIn).data);
    expect(frame.ok && frame.packet.l4).toMatchObject({ src: backend.port, dst: b.client.port, tcpFlags: END_FLAGS });

    expect(b.packetIn(b.copy(clientFin))).toEqual([]);
    expect(b.ended()).toBe(0); // one side closed
    // A backend's FIN to another client ends nothing; this client's ends its connection.
    b.packetIn(b.copy(backendFin, { ...b.client, port: b.client.port + 1 }));
    expect(b.ended()).toBe(0);
    expect(b.packetIn(b.copy(backendFin))).toEqual([]);
    expect(b.ended()).toBe(1);
    expect(b.service().endCopies).toBe(3);
    expect(b.service().decisions).toBe(1);
  });

  it('learns nothing without end copies (datapath.end_copies 0), and only its own service\'s flows', () => {
    expect(benchSwitch('ipv4', 'flows', 0).learner.copies).toBeUndefined();
    // Another service's client-side copy flow (another VIP) is not this switch's.
    const learner = new EndCopyLearner('10.0.0.100');
    const other: FlowMod = {
      type: 'flow_mod', xid: 0, cookie: makeCookie('end', 7), cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 172,
      bufferId: OFP_NO_BUFFER, outPort: 0, outGroup: 0, flags: 0,
      match: [{ field: 'eth_type', value: 0x800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_dst', value: '10.0.1.100' }, { field: 'tcp_dst', value: 80 },
        { field: 'tcp_flags', value: TCP_FLAGS.FIN, mask: TCP_FLAGS.FIN }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'nx_controller2', maxLen: 128, meterId: 0xadc }] }],
    };
    learner.flowMod(other);
    expect(learner.copies).toBeUndefined();
    learner.flowMod({ ...other, match: other.match.map((m) => (m.field === 'ipv4_dst' ? { ...m, value: '10.0.0.100' } : m)) });
    expect(learner.copies).toMatchObject({ client: true, meterId: 0xadc });
    expect(learner.meter()).toBeUndefined(); // no meter-mod seen: nothing limits the copies
  });
});

/** Just the fields the comparison reads. */
function run(endCopies: number, avg: number, controllerPct: number, p50Us: number, sent = 0, metered = 0): FlowSetupResult {
  return {
    options: { endCopies, nat: 'flows' }, responsesPerSec: { avg, perLoop: [avg] }, cpu: { controllerPct }, latencyUs: { p50Us },
    totals: { endCopiesSent: sent, endCopiesMetered: metered, responses: avg },
  } as unknown as FlowSetupResult;
}

describe('end copies off and on side by side', () => {
  it('takes medians per variant and the controller CPU an end costs per connection', () => {
    const c = compareEndCopies([
      run(0, 10_000, 50, 100), run(5000, 8_000, 50, 120, 16_000, 0), run(5000, 7_000, 50, 130, 13_000, 1_000), run(0, 9_000, 45, 110),
    ], 2);
    expect(c.off).toEqual({ runs: 2, responsesPerSec: { median: 9_500, min: 9_000, max: 10_000 }, perControllerCpuSecond: 20_000, p50LatencyUs: 105 });
    expect(c.on.perControllerCpuSecond).toBe(15_000);
    expect(c.controllerUsPerResponse!.off).toBeCloseTo(50, 6);
    expect(c.controllerUsPerResponse!.endCost).toBeCloseTo(1e6 / 15_000 - 50, 6);
    expect(c.copiesPerResponse).toBeCloseTo(29_000 / 15_000, 6);
    expect(c.controllerUsPerResponse!.perCopy).toBeCloseTo((1e6 / 15_000 - 50) / (29_000 / 15_000), 6);
    expect(c.meteredShare).toBeCloseTo(1_000 / 30_000, 6);
    expect(c.endCopies).toBe(5000);
    const text = formatEndCopiesComparison({ ...c, runs: [] });
    expect(text).toMatch(/per controller CPU-second\s+20,000\s+15,000\s+75\.0 %/);
    expect(text).toMatch(/an end costs 16\.7 us per connection, 8\.62 us per copy/);
  });
});

describe('end copies off and on: what it compares', () => {
  it("refuses conntrack NAT with a scheduler whose client FINs vadc does not copy (rr), naming the way out", async () => {
    await expect(runFlowSetupEndCopies({ nat: 'conntrack', scheduler: 'rr' }, 1)).rejects.toThrow(/copies no client FIN of a rr service .*--scheduler wlc/);
  });
});
