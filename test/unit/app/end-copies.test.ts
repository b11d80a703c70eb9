// Connection-end copies (datapath.end_copies): the switch forwards a FIN or RST as before and sends vadc a copy,
// so the least-connection schedulers count as IPVS does (active = established, inactive = closing) the moment a
// connection closes, in every NAT mode. The fake flow table runs the real flows; the app sees the copies.
import { parseCookie, PRIORITY } from '../../../src/flows';
import { END_COPY_METER_ID } from '../../../src/flows/end-copies';
import { listingSpacingLimit, MAX_READING_SPACING_MS } from '../../../src/daemon/reading-spacing';
import {
  AppHarness, backendYaml, backendYaml6, CLIENT6, CLIENT_MAC, CLIENT_PORT, defaultServices, delivered, dualStackService, fromBackend, fromBackend6, fromClient, fromClient6, ipv6Services,
  NAT_MODES, VIP6, VIP6_MAC, VMS, type NatModeCase, type VmName,
} from '../../helpers/app-harness';
import { ipv4Frame, ipv6Frame } from '../../helpers/frames';

const FIN_ACK = 0x11;
const RST = 0x04;
const ACK = 0x10;
const SYN_ACK = 0x12;

/** The app's view of one backend of service web. */
function counts(h: AppHarness, vm: VmName): { active: number; inactive: number; completed: number } {
  const b = h.app.serviceStates()[0].lb.backendById(vm)!;
  return { active: b.activeConns, inactive: b.inactiveConns, completed: b.completedConns };
}

/** Opens a TCP connection through the switch (handshake), returns the VM it went to; `ipv6`: to the IPv6 services' VIP. */
function open(h: AppHarness, clientPort: number, ipv6 = false): VmName {
  const [client, backend] = ipv6 ? [fromClient6, fromBackend6] : [fromClient, fromBackend];
  const port = delivered(h.send(client(clientPort)).outcomes).port;
  const vm = (Object.keys(VMS) as VmName[]).find((name) => VMS[name].ofport === port)!;
  h.send(backend(vm, clientPort, { flags: SYN_ACK }), VMS[vm].ofport);
  h.send(client(clientPort, { flags: ACK }));
  return vm;
}

/** The accounting reading that shows every connection established (flow counters or the tracker). */
function established(h: AppHarness): void {
  h.install(h.app.applyAccounting(h.accountingReading(), h.now));
}

const lc = (mode: NatModeCase) => new AppHarness(mode, defaultServices('lc'));

/** The mode's datapath section with the copies turned off. */
const withoutCopies = (mode: NatModeCase): string => (mode.datapath ? mode.datapath.replace(/ }$/, ', end_copies: 0 }') : 'datapath: { end_copies: 0 }');

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('connection-end copies, %s mode', (_name, mode) => {
  it("forwards a client's FIN to the backend as before, and the app hears it: the connection is closing (inactive)", () => {
    const h = lc(mode);
    const vm = open(h, 40000);
    established(h);
    expect(counts(h, vm)).toEqual({ active: 1, inactive: 0, completed: 0 });
    const fin = h.send(fromClient(40000, { flags: FIN_ACK }));
    expect(delivered(fin.outcomes)).toMatchObject({ port: VMS[vm].ofport, fields: { ipv4_dst: VMS[vm].ip, tcp_dst: 8080 } });
    expect(h.endCopies).toBe(1);
    expect(h.packetIns).toBe(1);
    expect(h.app.serviceStates()[0]).toMatchObject({ decisions: 1, endCopies: 1 });
    expect(counts(h, vm)).toEqual({ active: 0, inactive: 1, completed: 0 });
    // A later reading that still shows the connection established does not make it active again.
    established(h);
    expect(counts(h, vm)).toEqual({ active: 0, inactive: 1, completed: 0 });
  });

  it("the backend's FIN reaches the client from the VIP and ends the connection: lc sends the next one to the freed VM", () => {
    const h = lc(mode);
    expect([open(h, 40001), open(h, 40002), open(h, 40003)]).toEqual(['v-vm1', 'v-vm2', 'v-vm3']);
    established(h);
    h.send(fromClient(40002, { flags: FIN_ACK }));
    const finBack = h.send(fromBackend('v-vm2', 40002, { flags: FIN_ACK }), VMS['v-vm2'].ofport);
    expect(delivered(finBack.outcomes)).toMatchObject({ port: CLIENT_PORT, fields: { ipv4_src: '10.0.0.100', tcp_src: 80, tcp_dst: 40002 } });
    expect(counts(h, 'v-vm2')).toEqual({ active: 0, inactive: 0, completed: 1 });
    expect(delivered(h.send(fromClient(40004)).outcomes).port).toBe(VMS['v-vm2'].ofport);
  });

  it('without copies (end_copies: 0) the same connections look busy until the datapath lets them go', () => {
    const off = new AppHarness({ ...mode, datapath: withoutCopies(mode) } as NatModeCase, defaultServices('lc'));
    [40001, 40002, 40003].forEach((p) => open(off, p));
    established(off);
    off.send(fromClient(40002, { flags: FIN_ACK }));
    off.send(fromBackend('v-vm2', 40002, { flags: FIN_ACK }), VMS['v-vm2'].ofport);
    expect(off.endCopies).toBe(0);
    expect(off.sent.some((m) => m.type === 'meter_mod' && m.meterId === END_COPY_METER_ID)).toBe(false);
    expect(off.table.flows().some((f) => parseCookie(f.cookie)?.kind === 'end')).toBe(false);
    expect(counts(off, 'v-vm2')).toEqual({ active: 1, inactive: 0, completed: 0 });
    expect(delivered(off.send(fromClient(40004)).outcomes).port).toBe(VMS['v-vm1'].ofport);
  });

  it('a RST from either side ends the connection at once; a copy of an unknown connection changes nothing', () => {
    const h = lc(mode);
    const a = open(h, 40010);
    const b = open(h, 40011);
    established(h);
    h.send(fromClient(40010, { flags: RST }));
    expect(counts(h, a)).toEqual({ active: 0, inactive: 0, completed: 1 });
    h.send(fromBackend(b, 40011, { flags: RST | ACK }), VMS[b].ofport);
    expect(counts(h, b)).toEqual({ active: 0, inactive: 0, completed: 1 });
    // Retransmitted ends and segments of connections vadc never placed: counted as copies, nothing else.
    h.send(fromClient(40010, { flags: RST }));
    h.send(fromClient(40999, { flags: FIN_ACK }));
    expect(h.endCopies).toBe(4);
    expect([counts(h, a), counts(h, b)]).toEqual([{ active: 0, inactive: 0, completed: 1 }, { active: 0, inactive: 0, completed: 1 }]);
  });

  it("a service added by a reconfiguration, listed ahead of web, hears its own connections' copies (a copy names its service by id)", () => {
    const h = lc(mode);
    const api = `
services:
  - name: api
    vip: 10.0.0.100
    port: 81
    scheduler: lc
    backends:
${backendYaml('v-vm1', [9090])}
${defaultServices('lc').replace(/^\s*services:\n/, '')}`;
    h.install(h.app.setServices(AppHarness.config(mode, api).services, h.now));
    const syn = delivered(h.send(fromClient(40030, { dstPort: 81 })).outcomes);
    expect(syn).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { tcp_dst: 9090 } });
    h.send(fromBackend('v-vm1', 40030, { flags: SYN_ACK, backendPort: 9090 }), VMS['v-vm1'].ofport);
    h.send(fromClient(40030, { flags: ACK, dstPort: 81 }));
    const web = open(h, 40031);
    established(h);
    h.send(fromClient(40030, { flags: FIN_ACK, dstPort: 81 }));
    h.send(fromBackend('v-vm1', 40030, { flags: FIN_ACK, backendPort: 9090 }), VMS['v-vm1'].ofport);
    const [apiState, webState] = [0, 1].map((i) => h.app.serviceStates()[i]);
    expect([apiState.config.name, apiState.endCopies, webState.config.name, webState.endCopies]).toEqual(['api', 2, 'web', 0]);
    expect(apiState.lb.backendById('v-vm1')).toMatchObject({ activeConns: 0, inactiveConns: 0, completedConns: 1 });
    expect(webState.lb.backendById(web)).toMatchObject({ activeConns: 1, completedConns: 0 });
  });

  it('when the datapath lets an ended connection go, it is forgotten without being uncounted twice', () => {
    const h = lc(mode);
    const vm = open(h, 40020);
    open(h, 40021);
    established(h);
    h.send(fromClient(40020, { flags: FIN_ACK }));
    h.send(fromBackend(vm, 40020, { flags: FIN_ACK }), VMS[vm].ofport);
    h.endAllConnections();
    const web = h.app.serviceStates()[0];
    expect(web.lb.connections.size).toBe(0);
    for (const b of web.lb.backends) {
      expect(b.activeConns).toBe(0);
      expect(b.inactiveConns).toBe(0);
    }
    expect(web.lb.backends.reduce((n, b) => n + b.completedConns, 0)).toBe(2);
  });

  it('installs the meter before the copy flows that use it, and copies only TCP services', () => {
    const h = lc(mode);
    const meterAt = h.sent.findIndex((m) => m.type === 'meter_mod' && m.command === 0 && m.meterId === END_COPY_METER_ID);
    const firstCopy = h.sent.findIndex((m) => m.type === 'flow_mod' && parseCookie(m.cookie)?.kind === 'end');
    expect(meterAt).toBeGreaterThanOrEqual(0);
    expect(firstCopy).toBeGreaterThan(meterAt);
    const copies = h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'end');
    // web (TCP, single VIP): FIN and RST for the client side and for each of the 4 backend address:ports; dns (UDP): none.
    expect(copies).toHaveLength(2 + 2 * 4);
    // The client side's name web; each backend address:port's pair is shared (no service: sharedEndCopyCookie).
    const [client, backend] = [copies.filter((f) => f.priority !== PRIORITY.REPLY_END_COPY.min), copies.filter((f) => f.priority === PRIORITY.REPLY_END_COPY.min)];
    expect(new Set(client.map((f) => parseCookie(f.cookie)!.serviceId))).toEqual(new Set([h.app.serviceStates()[0].id]));
    expect(new Set(backend.map((f) => parseCookie(f.cookie)!.serviceId))).toEqual(new Set([0]));
    expect(new Set(copies.map((f) => f.priority))).toEqual(new Set([PRIORITY.END_COPY.min + 32, PRIORITY.REPLY_END_COPY.min]));
  });

  it('a prefix VIP gets client-side copies only (a backend segment does not say which VIP address it answers for)', () => {
    const h = new AppHarness(mode, `
services:
  - name: cache
    vip: 10.0.1.0/24
    port: 80
    scheduler: lblc
    backends:
${backendYaml('v-vm1', [8080])}
`);
    const copies = h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'end');
    expect(copies.map((f) => f.priority)).toEqual([PRIORITY.END_COPY.min + 24, PRIORITY.END_COPY.min + 24]);
  });
});

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('connection-end copies of an IPv6 service, %s mode', (_name, mode) => {
  const lc6 = () => new AppHarness(mode, ipv6Services('lc'));

  const open6 = (h: AppHarness, clientPort: number) => open(h, clientPort, true);

  it("the client's FIN (carrying more than the copy's 128 bytes) makes the connection closing; the backend's ends it", () => {
    const h = lc6();
    expect([open6(h, 40001), open6(h, 40002), open6(h, 40003)]).toEqual(['v-vm1', 'v-vm2', 'v-vm3']);
    established(h);
    expect(counts(h, 'v-vm2')).toEqual({ active: 1, inactive: 0, completed: 0 });
    const fin = ipv6Frame({
      srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: CLIENT6, dstIp: VIP6, proto: 'tcp', srcPort: 40002, dstPort: 80, tcpFlags: FIN_ACK, payload: Buffer.alloc(400, 0x61),
    });
    expect(delivered(h.send(fin).outcomes)).toMatchObject({ port: VMS['v-vm2'].ofport, fields: { ipv6_dst: VMS['v-vm2'].ip6, tcp_dst: 8080 } });
    expect(h.endCopies).toBe(1);
    expect(counts(h, 'v-vm2')).toEqual({ active: 0, inactive: 1, completed: 0 });
    const finBack = h.send(fromBackend6('v-vm2', 40002, { flags: FIN_ACK }), VMS['v-vm2'].ofport);
    expect(delivered(finBack.outcomes)).toMatchObject({ port: CLIENT_PORT, fields: { ipv6_src: VIP6, tcp_src: 80, tcp_dst: 40002 } });
    expect(counts(h, 'v-vm2')).toEqual({ active: 0, inactive: 0, completed: 1 });
    // lc sends the next connection to the freed VM.
    expect(delivered(h.send(fromClient6(40004)).outcomes).port).toBe(VMS['v-vm2'].ofport);
  });

  it("a client's FIN behind a destination options header (a socket's sticky IPV6_DSTOPTS) is read through it", () => {
    const h = lc6();
    expect(open6(h, 40005)).toBe('v-vm1');
    established(h);
    const plain = ipv6Frame({ srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: CLIENT6, dstIp: VIP6, proto: 'tcp', srcPort: 40005, dstPort: 80, tcpFlags: FIN_ACK });
    const fin = Buffer.concat([plain.subarray(0, 54), Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), plain.subarray(54)]);
    fin[14 + 6] = 60;
    fin.writeUInt16BE(fin.length - 54, 14 + 4);
    expect(delivered(h.send(fin).outcomes)).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { ipv6_dst: VMS['v-vm1'].ip6, tcp_dst: 8080 } });
    expect([h.endCopies, h.app.serviceStates()[0].endCopies]).toEqual([1, 1]);
    expect(counts(h, 'v-vm1')).toEqual({ active: 0, inactive: 1, completed: 0 });
  });

  it('a RST from either side ends the connection; copies are in the END_COPY6 band (client) and REPLY_END_COPY (backends)', () => {
    const h = lc6();
    const a = open6(h, 40010);
    const b = open6(h, 40011);
    established(h);
    h.send(fromClient6(40010, { flags: RST }));
    h.send(fromBackend6(b, 40011, { flags: RST | ACK }), VMS[b].ofport);
    expect([counts(h, a), counts(h, b)]).toEqual([{ active: 0, inactive: 0, completed: 1 }, { active: 0, inactive: 0, completed: 1 }]);
    const copies = h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'end');
    // web6 (TCP, single VIP): FIN and RST for the client side and for each of the 4 backend address:ports; dns6 (UDP): none.
    expect(copies).toHaveLength(2 + 2 * 4);
    expect(new Set(copies.map((f) => f.priority))).toEqual(new Set([PRIORITY.END_COPY6.min + 128, PRIORITY.REPLY_END_COPY.min]));
  });
});

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('connection-end copies of a dual-stack service, %s mode', (_name, mode) => {
  it("each family's FINs, client's and backend's, end its connection on the shared backend: lc counts them together", () => {
    const h = new AppHarness(mode, dualStackService('lc'));
    expect([open(h, 40020, true), open(h, 40021), open(h, 40022, true)]).toEqual(['v-vm1', 'v-vm2', 'v-vm3']);
    // The fourth goes to vm1 again, at its other software port (lc's port picker): an IPv4 connection beside the IPv6 one.
    expect(delivered(h.send(fromClient(40023)).outcomes)).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { ipv4_dst: VMS['v-vm1'].ip, tcp_dst: 8081 } });
    h.send(fromBackend('v-vm1', 40023, { flags: SYN_ACK, backendPort: 8081 }), VMS['v-vm1'].ofport);
    h.send(fromClient(40023, { flags: ACK }));
    established(h);
    expect(counts(h, 'v-vm1')).toEqual({ active: 2, inactive: 0, completed: 0 });
    h.send(fromClient6(40020, { flags: FIN_ACK }));
    expect(counts(h, 'v-vm1')).toEqual({ active: 1, inactive: 1, completed: 0 });
    const finBack = h.send(fromBackend6('v-vm1', 40020, { flags: FIN_ACK }), VMS['v-vm1'].ofport);
    expect(delivered(finBack.outcomes)).toMatchObject({ port: CLIENT_PORT, fields: { ipv6_src: VIP6, tcp_src: 80, tcp_dst: 40020 } });
    h.send(fromBackend('v-vm1', 40023, { flags: RST | ACK, backendPort: 8081 }), VMS['v-vm1'].ofport);
    expect(counts(h, 'v-vm1')).toEqual({ active: 0, inactive: 0, completed: 2 });
    expect(h.app.serviceStates()[0].endCopies).toBe(3);
    // Each VIP gets its client copies (FIN and RST), and each of the 4 backend ports at both its addresses its backend copies.
    const copies = h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'end');
    expect(copies).toHaveLength(2 * 2 + 2 * 4 * 2);
  });

  it('an IPv4 prefix beside a single IPv6 VIP: client RST copies for both VIPs (dh reads no counts), backend copies at the backends\' IPv6 addresses only', () => {
    const h = new AppHarness(mode, dualStackService('dh', '    fin_timeout: 2').replace('vip: 10.0.0.100', 'vip: 10.0.9.0/30'));
    const copies = h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'end');
    const family = (f: (typeof copies)[number]) => (f.match.some((m) => m.field === 'eth_type' && m.value === 0x86dd) ? 'IPv6' : 'IPv4');
    const backendSide = copies.filter((f) => f.priority === PRIORITY.REPLY_END_COPY.min);
    // The tracker's listing is a backstop with copies on: both FINs of every controller-decided service come up.
    const tracker = h.app.accountingSource === 'tracker';
    expect(copies.length - backendSide.length).toBe(tracker ? 4 : 2);
    // FIN and RST at each of the 4 backend ports.
    expect(backendSide.map(family)).toEqual(new Array(2 * 4).fill('IPv6'));
    // The IPv6 backend's RST still ends its connection through its copy.
    const vm = open(h, 40030, true);
    established(h);
    h.send(fromBackend6(vm, 40030, { flags: RST | ACK }), VMS[vm].ofport);
    expect(counts(h, vm)).toEqual({ active: 0, inactive: 0, completed: 1 });
  });
});

/**
 * web over the three VMs with `scheduler` and fin_timeout 2 (as the shipped configuration: a connection flow goes 2 s
 * after its FINs, so every mode's datapath shows the end within seconds); `backendExtra`: more keys on each backend's
 * line; `extra`: the service's.
 */
const webWith = (scheduler: string, backendExtra = '', extra = '    fin_timeout: 2'): string => `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: ${scheduler}
    idle_timeout: 30
${extra}
    backends:
${(['v-vm1', 'v-vm2', 'v-vm3'] as const).map((vm) => backendYaml(vm, [8080], backendExtra)).join('\n')}
`;

/** Closes a connection both ways with FINs (each forwarded by the switch); returns how many copies reached vadc. */
function finBothWays(h: AppHarness, clientPort: number, vm: VmName): number {
  const before = h.endCopies;
  expect(delivered(h.send(fromClient(clientPort, { flags: FIN_ACK })).outcomes).port).toBe(VMS[vm].ofport);
  expect(delivered(h.send(fromBackend(vm, clientPort, { flags: FIN_ACK }), VMS[vm].ofport).outcomes).port).toBe(CLIENT_PORT);
  return h.endCopies - before;
}

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('which ends reach vadc, by what the service reads, %s mode', (_name, mode) => {
  it("rr: the client's FIN reaches the backend with no packet-in; the backend's comes up only where the readings do not show a connection that worked (the outlier detector's success); the end comes with the datapath; the tracker's listing is a backstop: both come up", () => {
    const h = new AppHarness(mode, webWith('rr'));
    const vm = open(h, 40100);
    established(h);
    const packetIns = h.packetIns;
    const tracker = h.app.accountingSource === 'tracker';
    expect(finBothWays(h, 40100, vm)).toBe(tracker ? 2 : 1);
    expect(h.packetIns).toBe(packetIns);
    // Flows: closing (the backend's FIN), not ended: no client FIN copy says the other half went. The tracker: ended.
    expect(counts(h, vm)).toEqual(tracker ? { active: 0, inactive: 0, completed: 1 } : { active: 0, inactive: 1, completed: 0 });
    h.endAllConnections();
    expect(counts(h, vm)).toEqual({ active: 0, inactive: 0, completed: 1 });
    expect(h.app.serviceStates()[0].lb.connections.size).toBe(0);
  });

  it('rr without the outlier detector: no FIN comes up from either side (the tracker: both do); a RST from either side still does and ends the connection', () => {
    const h = new AppHarness(mode, webWith('rr', '', '    fin_timeout: 2\n    outlier: { enabled: false }'));
    const [a, b] = [open(h, 40110), open(h, 40111)];
    established(h);
    const fins = h.app.accountingSource === 'tracker' ? 2 : 0;
    expect(finBothWays(h, 40110, a)).toBe(fins);
    expect(counts(h, a)).toEqual(fins ? { active: 0, inactive: 0, completed: 1 } : { active: 1, inactive: 0, completed: 0 });
    h.send(fromBackend(b, 40111, { flags: RST | ACK }), VMS[b].ofport);
    expect(h.endCopies).toBe(fins + 1);
    expect(counts(h, b)).toMatchObject({ active: 0, completed: 1 });
    h.send(fromClient(40110, { flags: RST }));
    expect(h.endCopies).toBe(fins + 2);
    expect(counts(h, a)).toMatchObject({ active: 0, completed: 1 });
  });

  it('rr with no fin_timeout: both FINs come up where the datapath would show the end only at the idle timeout (connection flows), and with the tracker (its listing a backstop)', () => {
    const h = new AppHarness(mode, webWith('rr', '', ''));
    const vm = open(h, 40140);
    established(h);
    expect(finBothWays(h, 40140, vm)).toBe(2);
    expect(counts(h, vm)).toEqual({ active: 0, inactive: 0, completed: 1 });
  });

  it.each(['wlc', 'lblcr', 'feedback'])('%s: both FINs come up and the connection ends at once', (scheduler) => {
    const h = new AppHarness(mode, webWith(scheduler));
    const vm = open(h, 40120);
    established(h);
    expect(finBothWays(h, 40120, vm)).toBe(2);
    expect(counts(h, vm)).toEqual({ active: 0, inactive: 0, completed: 1 });
  });

  it("rr with a backend's upper connection threshold: both FINs come up (OVERLOAD clears as connections end); without it again, the client's FIN copy flow goes", () => {
    const capped = webWith('rr', 'u_threshold: 1', '    fin_timeout: 2\n    outlier: { enabled: false }');
    const h = new AppHarness(mode, capped);
    const vm = open(h, 40130);
    established(h);
    expect(h.app.serviceStates()[0].lb.backendById(vm)!.overloaded).toBe(true);
    expect(finBothWays(h, 40130, vm)).toBe(2);
    expect(h.app.serviceStates()[0].lb.backendById(vm)!.overloaded).toBe(false);
    // The same service without thresholds (not a replacement: its flows are sent again): its FIN copy flows are deleted.
    h.install(h.app.setServices(AppHarness.config(mode, webWith('rr', '', '    fin_timeout: 2\n    outlier: { enabled: false }')).services, h.now));
    const other = open(h, 40131);
    established(h);
    // The tracker's listing is a backstop: its FIN copies stay.
    if (h.app.accountingSource === 'tracker') {
      expect(finBothWays(h, 40131, other)).toBe(2);
      return;
    }
    expect(finBothWays(h, 40131, other)).toBe(0);
    expect(h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'end').map((f) => f.match.find((m) => m.field === 'tcp_flags')))
      .toEqual(new Array(1 + 3).fill({ field: 'tcp_flags', value: RST, mask: RST }));
  });
});

describe('a reused client port after the tracker let the ended connection go (conntrack mode, end copies on)', () => {
  const tracker = NAT_MODES.find((m) => m.name === 'conntrack')!;

  it("is placed anew, not sent to the old backend as a repeat, once the zone's close timeout has passed since its end", () => {
    // ct_timeouts tcp_close/tcp_time_wait 2 s: vadc's default policy.
    const h = new AppHarness(tracker, webWith('rr'));
    const vm = open(h, 40200);
    established(h);
    expect(finBothWays(h, 40200, vm)).toBe(2);
    const web = () => h.app.serviceStates()[0];
    expect(web()).toMatchObject({ decisions: 1, repeats: 0 });
    // 1 s after its end the tracker still holds it (TIME_WAIT): the port's SYN is the old placement's repeat.
    h.now += 1000;
    h.send(fromClient(40200));
    expect(web()).toMatchObject({ decisions: 1, repeats: 1 });
    h.send(fromClient(40200, { flags: RST }));
    // 2 s after its (second) end the tracker has let it go: a SYN is +new there, and vadc places it as one.
    h.now += 2000;
    h.send(fromClient(40200));
    expect(web()).toMatchObject({ decisions: 2, repeats: 1 });
  });

  it("a half-closed one (the other side's FIN copy lost) ends at its FIN when a SYN reuses its port: placed anew after the close timeout, a repeat within it", () => {
    const h = new AppHarness(tracker, webWith('rr'));
    const web = () => h.app.serviceStates()[0];
    for (const [clientPort, waitMs, decisions, repeats] of [[40210, 3000, 2, 0], [40211, 500, 1, 1]] as const) {
      const vm = open(h, clientPort);
      established(h);
      const before = web().decisions - 1;
      // Only the backend's FIN reaches vadc: closing, not ended (its client's FIN copy was lost).
      h.send(fromBackend(vm, clientPort, { flags: FIN_ACK }), VMS[vm].ofport);
      h.dropEndCopies = true;
      h.send(fromClient(clientPort, { flags: FIN_ACK }));
      h.dropEndCopies = false;
      expect(counts(h, vm)).toMatchObject({ active: 0, inactive: 1 });
      h.now += waitMs;
      const repeatsBefore = web().repeats;
      h.send(fromClient(clientPort));
      expect(web().decisions - before).toBe(decisions);
      expect(web().repeats - repeatsBefore).toBe(repeats);
      h.send(fromClient(clientPort, { flags: RST }));
    }
  });
});

describe.each(NAT_MODES.map((m) => [m.name, m] as const))("a backend's end copy when two services of one VIP share its address and port, %s mode", (_name, mode) => {
  // Their backend-side copy flows match the same segments at the same priority: the switch keeps one (the last
  // added), whose cookie names the other service for the first one's connections (seen on real OVS: the bench's
  // services on ports 80 and 81, one backend port; every backend FIN of port 80's connections came up as port 81's).
  const twoPorts = (ipv6: boolean) => `
services:
${['web', 'alt'].map((name, i) => `  - name: ${name}
    vip: ${ipv6 ? `"${VIP6}"` : '10.0.0.100'}
    port: ${80 + i}
    scheduler: lc
    idle_timeout: 30
    fin_timeout: 2
    backends:
${(['v-vm1', 'v-vm2', 'v-vm3'] as const).map((vm) => (ipv6 ? backendYaml6 : backendYaml)(vm, [8080])).join('\n')}`).join('\n')}
`;

  it.each([[80, false], [81, false], [80, true], [81, true]])('ends a connection to port %i (IPv6 %s) at its two FIN copies, both counted to its service', (port, ipv6) => {
    const h = new AppHarness(mode, twoPorts(ipv6));
    const [client, backend] = ipv6 ? [fromClient6, fromBackend6] : [fromClient, fromBackend];
    const ofport = delivered(h.send(client(40300, { dstPort: port })).outcomes).port;
    const name = (Object.keys(VMS) as VmName[]).find((n) => VMS[n].ofport === ofport)!;
    h.send(backend(name, 40300, { flags: SYN_ACK }), ofport);
    h.send(client(40300, { flags: ACK, dstPort: port }));
    established(h);
    h.send(backend(name, 40300, { flags: FIN_ACK }), ofport);
    h.send(client(40300, { flags: FIN_ACK, dstPort: port }));
    const svc = h.app.serviceStates().find((s) => s.config.port === port)!;
    expect(h.endCopies).toBe(2);
    expect(svc.endCopies).toBe(2);
    expect(svc.lb.backendById(name)).toMatchObject({ activeConns: 0, inactiveConns: 0, completedConns: 1 });
  });

  /** The backend side's copy flows on the switch: [service bits, tcp_flags] by backend address:port. */
  const backendCopies = (h: AppHarness) => h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'end' && f.priority === PRIORITY.REPLY_END_COPY.min);

  it.each([[false], [true]])('one copy flow pair per backend address:port, of no service: removing one service keeps it for the other, the last one takes it (IPv6 %s)', (ipv6) => {
    const h = new AppHarness(mode, twoPorts(ipv6));
    // 3 backend address:ports, FIN and RST each, whatever the two services.
    expect(backendCopies(h)).toHaveLength(6);
    expect(new Set(backendCopies(h).map((f) => parseCookie(f.cookie)!.serviceId))).toEqual(new Set([0]));
    const web = h.app.serviceStates().find((s) => s.config.name === 'web')!;
    const port80 = twoPorts(ipv6).replace(/\n {2}- name: alt[\s\S]*$/, '\n');
    const port81 = twoPorts(ipv6).replace(/ {2}- name: web[\s\S]*?(?= {2}- name: alt)/, '');
    // web (its cookie or not, whichever the switch kept) goes: alt's connection still ends at its backend's FIN copy.
    h.install(h.app.setServices(AppHarness.config(mode, port81).services, h.now));
    expect(h.app.serviceStates().map((s) => s.config.name)).toEqual(['alt']);
    expect(backendCopies(h)).toHaveLength(6);
    const [client, backend] = ipv6 ? [fromClient6, fromBackend6] : [fromClient, fromBackend];
    const ofport = delivered(h.send(client(40310, { dstPort: 81 })).outcomes).port;
    const name = (Object.keys(VMS) as VmName[]).find((n) => VMS[n].ofport === ofport)!;
    h.send(backend(name, 40310, { flags: SYN_ACK }), ofport);
    h.send(client(40310, { flags: ACK, dstPort: 81 }));
    established(h);
    h.send(backend(name, 40310, { flags: FIN_ACK }), ofport);
    h.send(client(40310, { flags: FIN_ACK, dstPort: 81 }));
    const alt = h.app.serviceStates()[0];
    expect([h.endCopies, alt.endCopies, web.endCopies]).toEqual([2, 2, 0]);
    expect(alt.lb.backendById(name)).toMatchObject({ activeConns: 0, inactiveConns: 0, completedConns: 1 });
    // Back to web alone (alt's last): the flows stay, web's now; then a configuration with other backend ports takes them.
    h.install(h.app.setServices(AppHarness.config(mode, port80).services, h.now));
    expect(backendCopies(h)).toHaveLength(6);
    h.install(h.app.setServices(AppHarness.config(mode, port80.replace(/8080/g, '9090')).services, h.now));
    expect(backendCopies(h).map((f) => JSON.stringify(f.match.find((m) => m.field === 'tcp_src')))).toEqual(Array(6).fill(JSON.stringify({ field: 'tcp_src', value: 9090 })));
  });
});

describe.each(NAT_MODES.map((m) => [m.name, m] as const))("a backend's end copy when services of two VIP addresses share its address and port, %s mode", (_name, mode) => {
  // A backend's segment names the client, not the VIP: the one shared copy flow serves both VIPs' services, and vadc
  // finds the one that tracks the connection.
  const twoVips = (ipv6: boolean) => `
services:
${['web', 'alt'].map((name, i) => `  - name: ${name}
    vip: ${ipv6 ? `"fd00::1${i}0"` : `10.0.0.${100 + 2 * i}`}
    port: 80
    scheduler: lc
    idle_timeout: 30
    fin_timeout: 2
    backends:
${(['v-vm1', 'v-vm2', 'v-vm3'] as const).map((vm) => (ipv6 ? backendYaml6 : backendYaml)(vm, [8080])).join('\n')}`).join('\n')}
`;

  // The second VIP's connections: its backend copy is first read as web's (the first service of that address:port).
  it.each([['10.0.0.100'], ['10.0.0.102'], ['fd00::100'], ['fd00::110']])('ends a connection to %s at its two FIN copies, both counted to its service', (vip) => {
    const ipv6 = vip.includes(':');
    const h = new AppHarness(mode, twoVips(ipv6));
    const svc = h.app.serviceStates().find((s) => s.config.vip === vip)!;
    const spec = { srcMac: CLIENT_MAC, dstMac: svc.config.vip_mac!, dstIp: vip, proto: 'tcp' as const, srcPort: 40320, dstPort: 80 };
    const client = (tcpFlags?: number) => {
      const flags = tcpFlags !== undefined ? { tcpFlags } : {};
      return ipv6 ? ipv6Frame({ ...spec, srcIp: CLIENT6, ...flags }) : ipv4Frame({ ...spec, srcIp: '10.0.0.101', ...flags });
    };
    const backend = ipv6 ? fromBackend6 : fromBackend;
    const ofport = delivered(h.send(client()).outcomes).port;
    const name = (Object.keys(VMS) as VmName[]).find((n) => VMS[n].ofport === ofport)!;
    h.send(backend(name, 40320, { flags: SYN_ACK }), ofport);
    h.send(client(ACK));
    established(h);
    h.send(backend(name, 40320, { flags: FIN_ACK }), ofport);
    h.send(client(FIN_ACK));
    expect(h.endCopies).toBe(2);
    expect(svc.endCopies).toBe(2);
    expect(svc.lb.backendById(name)).toMatchObject({ activeConns: 0, inactiveConns: 0, completedConns: 1 });
  });
});

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('one rule: the listing is spaced only where both FINs come up as copies, %s mode', (_name, mode) => {
  // Each variant as one configuration: the spacing rule asks the accounting's endsFromCopies, the copy flows follow
  // endCopySides; a spaced listing over a service whose FINs do not both come up would lose its ends for a minute.
  const variants: [string, string, boolean][] = [
    ['rr', webWith('rr'), true],
    ['rr, no fin_timeout', webWith('rr', '', ''), true],
    ['lc', webWith('lc'), true],
    ['rr without the outlier detector', webWith('rr', '', '    fin_timeout: 2\n    outlier: { enabled: false }'), true],
    ['rr, end copies off', webWith('rr'), false],
  ];
  it.each(variants)('%s', (_variant, yaml, copiesOn) => {
    const h = new AppHarness(copiesOn ? mode : ({ ...mode, datapath: withoutCopies(mode) } as NatModeCase), yaml);
    const [service] = h.app.serviceStates();
    const spaced = listingSpacingLimit(h.app.serviceStates(), h.app.nat.accounting, { tcp_close: 2, tcp_time_wait: 2 }, 1000) === MAX_READING_SPACING_MS;
    expect(spaced).toBe(h.app.nat.accounting.endsFromCopies(service));
    const vm = open(h, 40200);
    established(h);
    const copies = finBothWays(h, 40200, vm);
    if (spaced) expect(copies).toBe(2);
    // Spaced exactly where the tracker is read and the copies are on (the rule is not vacuous).
    expect(spaced).toBe(h.app.accountingSource === 'tracker' && copiesOn);
  });
});
