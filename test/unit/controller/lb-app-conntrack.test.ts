// Conntrack NAT mode: does this packet reach this backend (and the reply the client)? A fake flow table
// with a small connection-tracker model stands in for OVS; the app answers its packet-ins.
import { parseConfig } from '../../../src/config';
import { LoadBalancerApp } from '../../../src/controller/app/lb-app';
import type { SwitchInfo } from '../../../src/controller/types';
import { buildCtCommitPacketOut, checkFlow, CtCommitWireEncoder, parsePacket, TABLE, VADC_PIPELINE, type ConntrackEntry } from '../../../src/flows';
import { encode } from '../../../src/openflow/codec';
import { ipv4ToUint32 } from '../../../src/lb/ip';
import { OFPRR_IDLE_TIMEOUT } from '../../../src/openflow/constants';
import type { FlowMod, FlowRemoved, OfpMessage, OfpPort, PacketIn, PacketOut } from '../../../src/openflow/types';
import { FakeFlowTable, type Outcome, type PacketFields } from '../../helpers/fake-flow-table';
import { ipv4Frame } from '../../helpers/frames';

const CLIENT_MAC = '52:54:00:00:01:01';
const VIP_MAC = '02:00:0a:00:00:64';
const VM_MACS: Record<string, string> = { 'v-vm1': '52:54:00:00:00:11', 'v-vm2': '52:54:00:00:00:12' };
const VM_IPS: Record<string, string> = { 'v-vm1': '10.0.0.11', 'v-vm2': '10.0.0.12' };
const VM_PORTS: Record<string, number> = { 'v-vm1': 1, 'v-vm2': 2 };
const CLIENT_PORT = 10;
const ZONE = 4321;

function port(portNo: number, name: string): OfpPort {
  return { portNo, name, hwAddr: `aa:00:00:00:00:${portNo.toString(16).padStart(2, '0')}`, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 };
}

function fakeSwitch(): SwitchInfo {
  return {
    dpid: 0xabcn, address: '127.0.0.1:1', connectedAt: 0,
    features: { type: 'features_reply', xid: 0, datapathId: 0xabcn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
    ports: new Map([port(1, 'v-vm1'), port(2, 'v-vm2'), port(CLIENT_PORT, 'v-cl1')].map((p) => [p.portNo, p])),
    counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 },
  };
}

function config(accounting: 'conntrack' | 'flows', backends = ['v-vm1', 'v-vm2']) {
  return parseConfig(`
datapath: { nat: conntrack, ct_zone: ${ZONE}, accounting: ${accounting} }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    idle_timeout: 30
    backends:
${backends.map((b) => `      - { vnic: ${b}, ip: ${VM_IPS[b]}, ports: [8080], mac: "${VM_MACS[b]}" }`).join('\n')}
  - name: dns
    vip: 10.0.0.100
    protocol: udp
    port: 53
    scheduler: rr
    backends:
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [5353], mac: "${VM_MACS['v-vm2']}" }
`, 'ct.yaml');
}

class Harness {
  readonly table = new FakeFlowTable();
  readonly sw = fakeSwitch();
  readonly app: LoadBalancerApp;
  packetIns = 0;
  flowModsPerPacketIn: number[] = [];
  now = 1000;

  constructor(accounting: 'conntrack' | 'flows' = 'conntrack') {
    this.app = new LoadBalancerApp(config(accounting).services, { datapath: config(accounting).datapath });
    this.install(this.app.onSwitchUp(this.sw, this.now));
    this.flush();
  }

  install(msgs: OfpMessage[]): void {
    for (const m of msgs) {
      if (m.type !== 'flow_mod') continue;
      expect(checkFlow(m, VADC_PIPELINE)).toEqual([]);
      this.table.apply(m, this.now / 1000);
    }
  }

  /** Per-switch changes the app queued (backend flows) reach the switch, as the daemon sends them. */
  flush(): void {
    for (const { msgs } of this.app.drainSwitchMessages()) this.install(msgs);
  }

  /** A frame enters the switch on `inPort`; packet-ins go to the app and its packet-outs are executed. */
  send(frame: Buffer, inPort: number): Outcome[] {
    const fields = fieldsOf(frame);
    const outcomes = this.table.process(fields, inPort, this.now / 1000);
    const toController = outcomes.find((o) => o.kind === 'controller');
    if (!toController || toController.kind !== 'controller') return outcomes;
    this.packetIns++;
    const packetIn: PacketIn = {
      type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: toController.tableId,
      cookie: toController.cookie, match: [{ field: 'in_port', value: inPort }], data: frame,
    };
    const msgs = this.app.onPacketIn(this.sw, packetIn, this.now);
    this.flowModsPerPacketIn.push(msgs.filter((m) => m.type === 'flow_mod').length);
    this.install(msgs);
    this.flush();
    return msgs.filter((m): m is PacketOut => m.type === 'packet_out').flatMap((po) => this.table.executePacketOut(fields, po.inPort, po.actions));
  }

  /** What the tracker holds, as ovs-appctl dpctl/dump-conntrack would list it. */
  trackerListing(state = 'ESTABLISHED'): ConntrackEntry[] {
    return this.table.connections.map((c) => ({
      proto: c.proto === 6 ? 'tcp' : 'udp',
      orig: { src: ipv4ToUint32(c.orig.src), dst: ipv4ToUint32(c.orig.dst), sport: c.orig.sport, dport: c.orig.dport },
      reply: { src: ipv4ToUint32(c.natDst!.ip), dst: ipv4ToUint32(c.orig.src), sport: c.natDst!.port, dport: c.orig.sport },
      zone: c.zone, mark: c.mark, ...(c.proto === 6 ? { state } : {}),
    }));
  }
}

function fieldsOf(frame: Buffer): PacketFields {
  const r = parsePacket(frame);
  if (!r.ok) throw new Error(r.reason);
  const p = r.packet;
  const f: PacketFields = { eth_src: p.ethSrc, eth_dst: p.ethDst, eth_type: p.ethType };
  if (p.ipv4) Object.assign(f, { ip_proto: p.ipv4.proto, ipv4_src: p.ipv4.src, ipv4_dst: p.ipv4.dst });
  if (p.l4 && p.ipv4?.proto === 6) Object.assign(f, { tcp_src: p.l4.src, tcp_dst: p.l4.dst });
  if (p.l4 && p.ipv4?.proto === 17) Object.assign(f, { udp_src: p.l4.src, udp_dst: p.l4.dst });
  return f;
}

const TCP_ACK = 0x10;

function fromClient(clientPort: number, opts: { flags?: number; proto?: 'tcp' | 'udp'; dstPort?: number } = {}): Buffer {
  return ipv4Frame({
    srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: opts.proto ?? 'tcp', srcPort: clientPort,
    dstPort: opts.dstPort ?? 80, ...(opts.flags !== undefined ? { tcpFlags: opts.flags } : {}),
  });
}

/** The backend's answer, as the VM sends it: from its own address and software port, to the client's MAC. */
function fromBackend(vm: string, clientPort: number, proto: 'tcp' | 'udp' = 'tcp', backendPort = 8080): Buffer {
  return ipv4Frame({ srcMac: VM_MACS[vm], dstMac: CLIENT_MAC, srcIp: VM_IPS[vm], dstIp: '10.0.0.101', proto, srcPort: backendPort, dstPort: clientPort });
}

function delivered(outcomes: Outcome[]): { port: number; fields: PacketFields } {
  const out = outcomes.filter((o) => o.kind === 'output');
  expect(out).toHaveLength(1);
  return out[0] as { port: number; fields: PacketFields };
}

describe('LoadBalancerApp in conntrack mode: does this packet reach this backend?', () => {
  it('the first packet is committed to a backend (DNAT to its address and port) and sent out its vNIC, with no flow-mod', () => {
    const h = new Harness();
    const out = delivered(h.send(fromClient(40000), CLIENT_PORT));
    expect(out.port).toBe(VM_PORTS['v-vm1']);
    expect(out.fields).toMatchObject({ eth_dst: VM_MACS['v-vm1'], ipv4_dst: '10.0.0.11', tcp_dst: 8080, ipv4_src: '10.0.0.101', tcp_src: 40000 });
    expect(h.flowModsPerPacketIn).toEqual([0]);
    expect(h.table.connections).toHaveLength(1);
  });

  it('the reply reaches the client port from the VIP, and the rest of the connection stays in the datapath', () => {
    const h = new Harness();
    h.send(fromClient(40001), CLIENT_PORT);
    const reply = delivered(h.send(fromBackend('v-vm1', 40001), VM_PORTS['v-vm1']));
    expect(reply.port).toBe(CLIENT_PORT);
    expect(reply.fields).toMatchObject({ eth_src: VIP_MAC, ipv4_src: '10.0.0.100', tcp_src: 80, ipv4_dst: '10.0.0.101', tcp_dst: 40001 });
    // The client's ACK and data: established, NATed by the tracker, out the backend flow. No packet-in.
    for (let i = 0; i < 3; i++) {
      const next = delivered(h.send(fromClient(40001, { flags: TCP_ACK }), CLIENT_PORT));
      expect(next.port).toBe(VM_PORTS['v-vm1']);
      expect(next.fields).toMatchObject({ eth_dst: VM_MACS['v-vm1'], ipv4_dst: '10.0.0.11', tcp_dst: 8080 });
    }
    expect(h.packetIns).toBe(1);
  });

  it('rr alternates backends; a retransmitted first packet goes where the first one went, without a new decision', () => {
    const h = new Harness();
    const ports = [50000, 50001, 50002, 50003].map((p) => delivered(h.send(fromClient(p), CLIENT_PORT)).port);
    expect(ports).toEqual([1, 2, 1, 2]);
    const decisions = h.app.serviceStates()[0].decisions;
    expect(delivered(h.send(fromClient(50001), CLIENT_PORT)).port).toBe(2); // SYN retransmit: still +new
    expect(h.app.serviceStates()[0].decisions).toBe(decisions);
  });

  it('a UDP service: the request reaches its backend, the answer comes from VIP:53', () => {
    const h = new Harness();
    const out = delivered(h.send(fromClient(6000, { proto: 'udp', dstPort: 53 }), CLIENT_PORT));
    expect(out).toMatchObject({ port: 2, fields: { ipv4_dst: '10.0.0.12', udp_dst: 5353 } });
    const reply = delivered(h.send(fromBackend('v-vm2', 6000, 'udp', 5353), VM_PORTS['v-vm2']));
    expect(reply).toMatchObject({ port: CLIENT_PORT, fields: { ipv4_src: '10.0.0.100', udp_src: 53, eth_src: VIP_MAC } });
  });

  it("a backend's own traffic that is not a reply, and traffic not for a VIP, switch normally", () => {
    const h = new Harness();
    // From the service port to someone who never connected: the tracker has no such connection.
    expect(h.send(fromBackend('v-vm1', 41000), VM_PORTS['v-vm1']).map((o) => o.kind)).toEqual(['normal']);
    const other = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VM_MACS['v-vm1'], srcIp: '10.0.0.101', dstIp: '10.0.0.11', proto: 'tcp', srcPort: 1234, dstPort: 22 });
    expect(h.send(other, CLIENT_PORT).map((o) => o.kind)).toEqual(['normal']);
  });
});

describe('conntrack mode: connections counted from the tracker', () => {
  it('counts a TCP connection active once ESTABLISHED, closes it when the tracker shows it closing or no longer has it', () => {
    const h = new Harness();
    h.send(fromClient(40010), CLIENT_PORT);
    h.send(fromClient(40011), CLIENT_PORT);
    const backends = () => h.app.serviceStates()[0].lb.backends.map((b) => [b.id, b.activeConns, b.inactiveConns]);
    expect(backends()).toEqual([['v-vm1', 0, 1], ['v-vm2', 0, 1]]);
    const listing = h.trackerListing();
    expect(h.app.applyConntrack(listing, h.now + 100)).toBe(0);
    expect(backends()).toEqual([['v-vm1', 1, 0], ['v-vm2', 1, 0]]);
    // vm1's connection closes (TIME_WAIT); vm2's is no longer listed but is younger than the grace period.
    const closing = [{ ...listing[0], state: 'TIME_WAIT' }];
    expect(h.app.applyConntrack(closing, h.now + 500)).toBe(2 - 1);
    expect(backends()).toEqual([['v-vm1', 0, 0], ['v-vm2', 1, 0]]);
    // Past the grace period, a connection the tracker does not list is gone.
    expect(h.app.applyConntrack([], h.now + 5000)).toBe(1);
    expect(backends()).toEqual([['v-vm1', 0, 0], ['v-vm2', 0, 0]]);
  });

  it('ignores tracker entries of another zone or service mark (they are not its connections)', () => {
    const h = new Harness();
    h.send(fromClient(40020), CLIENT_PORT);
    const [entry] = h.trackerListing();
    expect(h.app.applyConntrack([{ ...entry, zone: ZONE + 1 }], h.now + 5000)).toBe(1);
  });

  it('a restarted controller re-tracks the live connections from the tracker, and sends them where they were', () => {
    const h = new Harness();
    h.send(fromClient(40030), CLIENT_PORT);
    h.send(fromClient(40031), CLIENT_PORT);
    const listing = h.trackerListing();
    const fresh = new LoadBalancerApp(config('conntrack').services, { datapath: config('conntrack').datapath });
    fresh.onSwitchUp(h.sw, h.now);
    fresh.restoreFromConntrack(h.sw.dpid, [...listing, { ...listing[0], orig: { ...listing[0].orig, sport: 40099 }, state: 'TIME_WAIT' }], h.now);
    const records = fresh.connectionRecords('web').map((r) => [r.record.clientPort, r.record.backendId, r.record.softwarePort, r.record.state]);
    expect(records).toEqual([[40030, 'v-vm1', 8080, 'active'], [40031, 'v-vm2', 8080, 'active']]);
    expect(fresh.drainEvents().map((e) => e.kind)).toContain('connections_restored');
  });
});

describe('conntrack mode: backend flows follow location, health and configuration', () => {
  it('a failed backend loses its flow: its clients reach vadc, which answers with a RST once the connections are dropped', () => {
    const h = new Harness();
    h.send(fromClient(40040), CLIENT_PORT);
    h.send(fromBackend('v-vm1', 40040), VM_PORTS['v-vm1']);
    h.app.setHealth('web', 'v-vm1', false);
    h.flush();
    // Backend flows left: vm2's for web and for dns; vm1's is gone.
    const backendTargets = h.table.flows(TABLE.FORWARD).filter((f) => f.priority === 500)
      .map((f) => f.match.flatMap((m) => (m.field === 'ipv4_dst' ? [m.value] : [])).join());
    expect(backendTargets).toEqual(['10.0.0.12', '10.0.0.12']);
    h.install(h.app.dropBackendConnections('web', 'v-vm1', h.now));
    const before = h.packetIns;
    const outcomes = h.send(fromClient(40040, { flags: TCP_ACK }), CLIENT_PORT);
    expect(h.packetIns).toBe(before + 1);
    // The RST goes back out of the client's port (a reply packet-out, not to a backend).
    expect(outcomes.map((o) => (o.kind === 'output' ? o.port : o.kind))).toEqual([CLIENT_PORT]);
    // New connections go to the healthy backend.
    expect(delivered(h.send(fromClient(40041), CLIENT_PORT)).port).toBe(2);
  });

  it('a backend taken out of the configuration keeps its established connection until it ends', () => {
    const h = new Harness();
    h.send(fromClient(40050), CLIENT_PORT); // vm1
    h.send(fromBackend('v-vm1', 40050), VM_PORTS['v-vm1']);
    h.install(h.app.setServices(config('conntrack', ['v-vm2']).services, h.now));
    h.flush();
    expect(delivered(h.send(fromClient(40050, { flags: TCP_ACK }), CLIENT_PORT)).port).toBe(VM_PORTS['v-vm1']);
    expect(delivered(h.send(fromClient(40051), CLIENT_PORT)).port).toBe(VM_PORTS['v-vm2']);
    // The connection ends: the retired backend's flow goes with it.
    const flowsTo = (ofport: number) => h.table.flows(TABLE.FORWARD).filter((f: FlowMod) => f.priority === 500
      && f.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'output' && a.port === ofport)));
    expect(flowsTo(1)).toHaveLength(1);
    h.app.applyConntrack(h.trackerListing('TIME_WAIT'), h.now + 5000);
    h.flush();
    expect(flowsTo(1)).toHaveLength(0);
    expect(flowsTo(2)).toHaveLength(2); // vm2 serves web and dns
  });
});

describe('conntrack mode with flow accounting', () => {
  it('adds one accounting flow per connection; its removal ends the connection', () => {
    const h = new Harness('flows');
    h.send(fromClient(40060), CLIENT_PORT);
    expect(h.flowModsPerPacketIn).toEqual([1]);
    h.send(fromBackend('v-vm1', 40060), VM_PORTS['v-vm1']);
    const accounting = h.table.flows(TABLE.FORWARD).filter((f) => f.priority === 1000);
    expect(accounting).toHaveLength(1);
    // The established packets now count on the accounting flow, and still reach the backend.
    expect(delivered(h.send(fromClient(40060, { flags: TCP_ACK }), CLIENT_PORT)).port).toBe(1);
    expect(h.table.packetCount(accounting[0])).toBe(1);
    const f = accounting[0];
    const removed: FlowRemoved = {
      type: 'flow_removed', xid: 0, cookie: f.cookie, priority: f.priority, reason: OFPRR_IDLE_TIMEOUT, tableId: f.tableId,
      durationSec: 1, durationNsec: 0, idleTimeout: f.idleTimeout, hardTimeout: 0, packetCount: 1n, byteCount: 60n, match: f.match,
    };
    expect(h.app.connectionRecords('web')).toHaveLength(1);
    h.install(h.app.onFlowRemoved(h.sw, removed, h.now));
    expect(h.app.connectionRecords('web')).toHaveLength(0);
  });
});

describe('conntrack mode: the pre-encoded fast path', () => {
  it('CtCommitWireEncoder writes exactly what encode(buildCtCommitPacketOut(...)) writes, for varied values', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (const [zone, serviceId] of [[0, 1], [ZONE, 0x1234], [65535, 65535]]) {
      const encoder = new CtCommitWireEncoder(zone, serviceId);
      for (let i = 0; i < 200; i++) {
        const ip = [rand(256), rand(256), rand(256), rand(256)];
        const mac = Array.from({ length: 6 }, () => rand(256));
        const values = { clientOfport: 1 + rand(0xffff), backendIp: ipv4ToUint32(ip.join('.')), backendPort: rand(65536), backendMac: Buffer.from(mac), backendOfport: 1 + rand(0xfffffeff) };
        const frame = Buffer.from(Array.from({ length: rand(120) }, () => rand(256)));
        const expected = encode(buildCtCommitPacketOut(frame, values.clientOfport, {
          zone, serviceId, clientOfport: values.clientOfport, backendIp: ip.join('.'), backendPort: values.backendPort,
          backendMac: mac.map((b) => b.toString(16).padStart(2, '0')).join(':'), backendOfport: values.backendOfport,
        }));
        expect(encoder.encode(values, frame).equals(Buffer.from(expected))).toBe(true);
      }
    }
    expect(() => new CtCommitWireEncoder(ZONE, 5).encode({ clientOfport: 0x10000, backendIp: 1, backendPort: 1, backendMac: Buffer.alloc(6), backendOfport: 1 }, Buffer.alloc(0)))
      .toThrow(/16 bits/);
  });

  it('onPacketInEncoded makes the same decisions and bytes as onPacketIn', () => {
    const a = new Harness();
    const b = new Harness();
    const frames = [fromClient(1), fromClient(2), fromClient(2), fromClient(3, { proto: 'udp', dstPort: 53 }), fromClient(4, { flags: TCP_ACK }), fromClient(5, { dstPort: 81 })];
    for (const frame of frames) {
      const packetIn: PacketIn = { type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: 1, cookie: 0n, match: [{ field: 'in_port', value: CLIENT_PORT }], data: frame };
      const objects = Buffer.concat(a.app.onPacketIn(a.sw, packetIn, 1).map((m) => Buffer.from(encode(m))));
      const fast = Buffer.concat(b.app.onPacketInEncoded(b.sw, packetIn, 1).map((m) => ('bytes' in m ? m.bytes : Buffer.from(encode(m)))));
      expect(fast.equals(objects)).toBe(true);
      expect(objects.length).toBeGreaterThan(0);
    }
  });
});
