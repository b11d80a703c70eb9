import net from 'node:net';
import { ControllerProtocolError, FlowSetupError } from '../../../src/bench/errors';
import { describeControllerPlacement, formatFlowSetupReport, runFlowSetup, type FlowSetupResult } from '../../../src/bench/flowsetup';

// A short real run over loopback: the internal controller child (vadc's Controller runtime with the
// REFERENCE RESPONDER app) and two emulated switches. It checks that responses are counted and the
// JSON has the documented shape; it asserts no timing.
describe('flowsetup run against the reference responder', () => {
  jest.setTimeout(180_000); // the controller child starts under ts-node: slow on a busy machine (internal-controller.ts)

  it.each(['latency', 'throughput'] as const)('%s mode counts responses and reports the documented JSON', async (mode) => {
    const result = await runFlowSetup({
      switches: 2, loops: 2, loopMs: 200, mode, window: 8, clients: 1000, app: 'reference', pin: false,
    });
    const json = JSON.parse(JSON.stringify(result)) as FlowSetupResult;
    expect(json).toMatchObject({
      benchmark: 'flowsetup',
      controller: { kind: 'internal', app: 'reference', pinned: false, label: expect.stringMatching(/REFERENCE RESPONDER.*NOT vadc/) },
      options: { switches: 2, mode, loops: 2, loopMs: 200, warmupLoops: 1, macs: 1000, window: mode === 'latency' ? 1 : 8, protocol: 'tcp', expectedFlowMods: 2 },
      cpu: { generatorPct: expect.any(Number), controllerPct: expect.any(Number), controllerSystemPct: expect.any(Number) },
      appEvents: {},
      appEnds: null,
      lastControllerError: null,
    });
    expect(json.controller.target).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    for (const key of ['min', 'max', 'avg', 'stdev'] as const) expect(typeof json.responsesPerSec[key]).toBe('number');
    expect(json.responsesPerSec.perLoop).toHaveLength(1);
    expect(json.responsesPerSec.measuredResponses).toBeGreaterThan(0);
    expect(json.latencyUs.samples).toBe(json.responsesPerSec.measuredResponses);
    for (const key of ['p50Us', 'p99Us', 'maxUs', 'avgUs'] as const) expect(json.latencyUs[key]).toBeGreaterThan(0);
    const t = json.totals;
    expect(t.responses).toBeGreaterThan(0);
    // Each response is two flow-mods and one packet-out; nothing was counted twice or left unexplained.
    expect(t.flowModsReceived).toBeGreaterThanOrEqual(2 * t.responses);
    expect(t.packetOutsReceived).toBeGreaterThanOrEqual(t.responses);
    expect(t).toMatchObject({ duplicates: 0, unmatched: 0, packetOutFirst: 0, errorsReceived: 0 });
    expect(t.packetInsSent).toBe(t.responses + t.unansweredAtEnd);
    expect(formatFlowSetupReport(result)).toContain('responses/s  min');
    // The kernel's part of the controller's CPU is a part of it.
    expect(json.cpu.controllerSystemPct).toBeGreaterThanOrEqual(0);
    expect(json.cpu.controllerSystemPct).toBeLessThanOrEqual(json.cpu.controllerPct!);
    expect(formatFlowSetupReport(result)).toMatch(/controller \d+% \(\d+% in the kernel\)/);
  });

  it("drives vadc's own load-balancer app through the real packet-in path (every packet-in answered, none refused)", async () => {
    const result = await runFlowSetup({ switches: 2, loops: 2, loopMs: 200, mode: 'throughput', window: 4, clients: 500, app: 'vadc', pin: false });
    expect(result.controller).toMatchObject({ app: 'vadc', label: expect.stringContaining("vadc's controller") });
    expect(result.totals.responses).toBeGreaterThan(0);
    expect(result.totals).toMatchObject({ duplicates: 0, packetOutFirst: 0, errorsReceived: 0 });
    expect(result.appEvents.connection_refused ?? 0).toBe(0);
    expect(result.totals.packetInsSent).toBe(result.totals.responses + result.totals.unansweredAtEnd);
  });

  it("shares the switches among several controller processes: each answers its own group's connections, CPU and counts summed", async () => {
    const result = await runFlowSetup({ switches: 3, controllers: 2, loops: 2, loopMs: 200, mode: 'throughput', window: 4, clients: 500, app: 'vadc', pin: false });
    expect(result.controller).toMatchObject({ app: 'vadc', processes: 2, pinned: false });
    // Switches 0 and 2 go to the first process, switch 1 to the second: two distinct listening ports.
    const ports = result.controller.target.split(',');
    expect(ports).toHaveLength(2);
    expect(new Set(ports).size).toBe(2);
    expect(result.totals).toMatchObject({ duplicates: 0, packetOutFirst: 0, errorsReceived: 0 });
    expect(result.totals.responses).toBeGreaterThan(0);
    expect(result.totals.packetInsSent).toBe(result.totals.responses + result.totals.unansweredAtEnd);
    // A process that did not know a switch's service would refuse its packet-ins (no flows, no response).
    expect(result.appEvents.connection_refused ?? 0).toBe(0);
    expect(result.cpu.controllerPct).toBeGreaterThan(0);
    expect(formatFlowSetupReport(result)).toContain('2 processes, switch i served by process i mod 2');
  });

  it.each(['flows', 'conntrack'] as const)("drives vadc's app with IPv6 clients, VIPs and backends (%s NAT mode): every packet-in answered", async (nat) => {
    const result = await runFlowSetup({
      switches: 2, loops: 2, loopMs: 200, mode: 'throughput', window: 4, clients: 500, app: 'vadc', pin: false, family: 'ipv6', nat,
      expectedFlowMods: nat === 'flows' ? 2 : 0,
    });
    expect(result.options).toMatchObject({ family: 'ipv6', vip: 'fd00:10::100' });
    expect(result.totals.responses).toBeGreaterThan(0);
    expect(result.totals).toMatchObject({ duplicates: 0, packetOutFirst: 0, errorsReceived: 0 });
    expect(result.appEvents.connection_refused ?? 0).toBe(0);
    expect(result.totals.packetInsSent).toBe(result.totals.responses + result.totals.unansweredAtEnd);
    if (nat === 'flows') expect(result.totals.flowModsReceived).toBeGreaterThanOrEqual(2 * result.totals.responses);
  });

  it.each(['flows', 'conntrack'] as const)('with end copies, every connection ended whole is one vadc saw end (%s NAT), counted by its app', async (nat) => {
    const result = await runFlowSetup({
      switches: 2, loops: 2, loopMs: 200, mode: 'throughput', window: 4, clients: 500, app: 'vadc', pin: false, nat,
      expectedFlowMods: nat === 'flows' ? 2 : 0, endCopies: 100_000, scheduler: 'wlc', // copied both ways in either mode
    });
    const t = result.totals;
    expect(t.endsSent).toBeGreaterThan(0);
    // Two copies per ended connection (the client's FIN and the backend's); the meter at 100,000/s drops none here.
    expect(t).toMatchObject({ endCopiesSent: 2 * t.endsSent, endCopiesMetered: 0, errorsReceived: 0 });
    expect(result.appEnds).toEqual({ copies: t.endCopiesSent, ended: t.endsSent, inactive: expect.any(Number) });
    expect(result.appEvents.connection_refused ?? 0).toBe(0);
    expect(t.packetInsSent).toBe(t.responses + t.unansweredAtEnd);
    expect(formatFlowSetupReport(result)).toMatch(/end copies +[\d,]+ sent .*vadc took [\d,]+ as ends/);
  });

  it.each(['ipv4', 'ipv6'] as const)('fixed-count loops (%s, flows NAT): every switch sends exactly --connections per loop, all answered', async (family) => {
    const result = await runFlowSetup({
      switches: 2, loops: 3, connections: 40, mode: 'throughput', window: 8, clients: 500, app: 'vadc', pin: false, family, nat: 'flows',
    });
    const t = result.totals;
    // 2 switches x 40 x 3 loops, whatever the machine's pace; the warm-up loop is left out of the rates only.
    expect(t).toMatchObject({ packetInsSent: 240, responses: 240, unansweredAtEnd: 0, duplicates: 0, errorsReceived: 0 });
    expect(result.responsesPerSec.perLoop).toHaveLength(2);
    expect(result.responsesPerSec.measuredResponses).toBe(160);
    expect(result.latencyUs.samples).toBe(160);
    expect(result.options.connections).toBe(40);
    expect(result.appEvents.connection_refused ?? 0).toBe(0);
    expect(formatFlowSetupReport(result)).toContain('3 loops x 40 connections per switch');
  });

  it('paced fixed-count loops (--rate): the same packet-ins, all answered, the pace in the options and the report', async () => {
    const result = await runFlowSetup({
      switches: 2, loops: 2, connections: 30, rate: 200, mode: 'throughput', window: 8, clients: 500, app: 'vadc', pin: false, family: 'ipv6', nat: 'flows',
    });
    expect(result.totals).toMatchObject({ packetInsSent: 120, responses: 120, unansweredAtEnd: 0, duplicates: 0, errorsReceived: 0 });
    expect(result.options).toMatchObject({ connections: 30, rate: 200 });
    expect(formatFlowSetupReport(result)).toContain('2 loops x 30 connections per switch paced at 200/s per switch');
  });

  it('fails a fixed-count loop that stops getting answers, naming the loop (the responder sends 2 flow-mods, 3 are expected)', async () => {
    await expect(runFlowSetup({
      switches: 1, loops: 2, connections: 5, mode: 'throughput', window: 4, clients: 500, app: 'reference', pin: false, expectedFlowMods: 3,
      handshakeTimeoutMs: 3000,
    })).rejects.toThrow(/^loop 0: no response for 3000 ms with packet-ins of the loop unanswered \(0 responses in all\)$/);
  });

  it('sends no end copies to a responder (it installs no end-copy flows), which keeps answering', async () => {
    const result = await runFlowSetup({ switches: 1, loops: 2, loopMs: 200, mode: 'throughput', window: 4, clients: 500, app: 'reference', pin: false, endCopies: 5000 });
    expect(result.totals.responses).toBeGreaterThan(0);
    expect(result.totals).toMatchObject({ endCopiesSent: 0, endCopiesMetered: 0, unmatched: 0, errorsReceived: 0 });
    expect(result.appEnds).toBeNull();
    expect(formatFlowSetupReport(result)).toContain('end copies   none: the responder installs no end-copy flows');
  });

  it('counts UDP responses from the raw responder (the generator ceiling), labelled as not vadc', async () => {
    const result = await runFlowSetup({ switches: 2, loops: 2, loopMs: 200, mode: 'throughput', window: 4, clients: 500, app: 'raw', pin: false, protocol: 'udp' });
    expect(result.controller.label).toMatch(/RAW RESPONDER.*NOT vadc/);
    expect(result.options.protocol).toBe('udp');
    expect(result.totals.responses).toBeGreaterThan(0);
    expect(result.totals).toMatchObject({ duplicates: 0, unmatched: 0, packetOutFirst: 0, errorsReceived: 0 });
  });
});

describe('flowsetup against a controller that misbehaves', () => {
  it('fails with a clear error when the controller never completes the handshake', async () => {
    // Reads (so it sees the switches hang up) but never answers.
    const silent = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      await expect(runFlowSetup({ switches: 2, loops: 2, loopMs: 50, controller: { kind: 'tcp', host: '127.0.0.1', port }, handshakeTimeoutMs: 300 }))
        .rejects.toThrow(new FlowSetupError('the controller did not complete the handshake with all 2 switches within 300 ms'));
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('fails naming the switch when the controller closes the connection', async () => {
    const rude = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
    const port = (rude.address() as net.AddressInfo).port;
    try {
      await expect(runFlowSetup({ switches: 1, loops: 2, loopMs: 50, controller: { kind: 'tcp', host: '127.0.0.1', port } }))
        .rejects.toThrow(ControllerProtocolError);
    } finally {
      await new Promise((resolve) => rude.close(resolve));
    }
  });
});

describe('the report names where the controllers ran', () => {
  const placed = (processes: number, pinned: boolean, controllerCore: number | null) =>
    describeControllerPlacement({ controller: { processes, pinned }, cpu: { controllerCore, generatorCore: pinned ? 0 : null } } as unknown as FlowSetupResult);

  it('one process, pinned or not', () => {
    expect(placed(1, true, 1)).toBe(' pinned to core 1, generator core 0');
    expect(placed(1, false, null)).toBe(' (not pinned)');
  });

  it('several processes: how switches are shared, and the range of cores', () => {
    expect(placed(3, true, 1)).toBe(' (3 processes, switch i served by process i mod 3) pinned to cores 1-3, generator core 0');
    expect(placed(2, false, null)).toBe(' (2 processes, switch i served by process i mod 2) (not pinned)');
  });
});
