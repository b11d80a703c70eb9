import { parseConfig } from '../../../src/config';
import { LoadBalancerApp } from '../../../src/controller/app/lb-app';
import type { PreEncodedMessages, SwitchInfo } from '../../../src/controller/types';
import { checkFlow, parsePacket, VADC_PIPELINE, TABLE } from '../../../src/flows';
import { OFPPS_LINK_DOWN, OFPRR_IDLE_TIMEOUT, OFPP_TABLE } from '../../../src/openflow/constants';
import { encode } from '../../../src/openflow/codec';
import type { FlowMod, FlowRemoved, FlowStats, OfpMessage, OfpPort, PacketIn, PacketOut, PortStatus } from '../../../src/openflow/types';
import { FakeFlowTable, type Outcome, type PacketFields } from '../../helpers/fake-flow-table';
import { arpRequest, ipv4Frame } from '../../helpers/frames';

const CLIENT_MAC = '52:54:00:00:01:01';
const VM_MACS: Record<string, string> = { 'v-vm1': '52:54:00:00:00:11', 'v-vm2': '52:54:00:00:00:12', 'v-vm3': '52:54:00:00:00:13' };
const CLIENT_PORT = 10;

function port(portNo: number, name: string, state = 0): OfpPort {
  return { portNo, name, hwAddr: `aa:00:00:00:00:${portNo.toString(16).padStart(2, '0')}`, config: 0, state, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 };
}

function fakeSwitch(ports: OfpPort[]): SwitchInfo & { ports: Map<number, OfpPort> } {
  return {
    dpid: 0xabcn, address: '127.0.0.1:1', connectedAt: 0,
    features: { type: 'features_reply', xid: 0, datapathId: 0xabcn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
    ports: new Map(ports.map((p) => [p.portNo, p])),
    counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 },
  };
}

function config(scheduler: string, extra = '') {
  return parseConfig(`
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: ${scheduler}
    idle_timeout: 30
${extra}
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080, 8081], mac: "${VM_MACS['v-vm1']}" }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], mac: "${VM_MACS['v-vm2']}" }
      - { vnic: v-vm3, ip: 10.0.0.13, ports: [8080], mac: "${VM_MACS['v-vm3']}" }
  - name: dns
    vip: 10.0.0.100
    protocol: udp
    port: 53
    scheduler: sh
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [5353], mac: "${VM_MACS['v-vm1']}" }
`, 'test.yaml');
}

/** A switch + the app + a fake flow table: packets go through the table; misses go to the app. */
class Harness {
  readonly table = new FakeFlowTable();
  readonly sw = fakeSwitch([port(1, 'v-vm1'), port(2, 'v-vm2'), port(3, 'v-vm3'), port(CLIENT_PORT, 'v-cl1')]);
  readonly app: LoadBalancerApp;
  readonly sent: OfpMessage[] = [];
  now = 1000;

  constructor(scheduler = 'rr', extra = '') {
    this.app = new LoadBalancerApp(config(scheduler, extra).services);
    this.install(this.app.onSwitchUp(this.sw, this.now));
  }

  install(msgs: OfpMessage[]): void {
    for (const m of msgs) {
      this.sent.push(m);
      if (m.type === 'flow_mod') {
        expect(checkFlow(m, VADC_PIPELINE)).toEqual([]);
        this.table.apply(m, this.now);
      }
    }
  }

  /** Sends a frame into the switch; a controller outcome becomes a packet-in to the app. */
  send(frame: Buffer, inPort = CLIENT_PORT): { outcomes: Outcome[]; replies: PacketOut[] } {
    const fields = fieldsOf(frame);
    let outcomes = this.table.process(fields, inPort, this.now);
    const replies: PacketOut[] = [];
    const toController = outcomes.find((o) => o.kind === 'controller');
    if (toController && toController.kind === 'controller') {
      const packetIn: PacketIn = {
        type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: toController.tableId,
        cookie: toController.cookie, match: [{ field: 'in_port', value: inPort }], data: frame,
      };
      const msgs = this.app.onPacketIn(this.sw, packetIn, this.now);
      this.install(msgs);
      for (const m of msgs) {
        if (m.type !== 'packet_out') continue;
        if (m.actions.length === 1 && m.actions[0].type === 'output' && m.actions[0].port === OFPP_TABLE) {
          outcomes = this.table.process(fields, m.inPort, this.now); // resubmitted through the new flows
        } else replies.push(m);
      }
    }
    return { outcomes, replies };
  }

  /** The switch expires idle flows; flow_removed messages go to the app. */
  expire(): void {
    for (const removed of this.table.expire(this.now)) {
      if (!removed.notify) continue;
      const f = removed.flow;
      const msg: FlowRemoved = {
        type: 'flow_removed', xid: 0, cookie: f.cookie, priority: f.priority, reason: removed.reason, tableId: f.tableId,
        durationSec: 1, durationNsec: 0, idleTimeout: f.idleTimeout, hardTimeout: 0, packetCount: 3n, byteCount: 180n, match: f.match,
      };
      this.install(this.app.onFlowRemoved(this.sw, msg, this.now));
    }
  }
}

function fieldsOf(frame: Buffer): PacketFields {
  const r = parsePacket(frame);
  if (!r.ok) throw new Error(r.reason);
  const p = r.packet;
  const f: PacketFields = { eth_src: p.ethSrc, eth_dst: p.ethDst, eth_type: p.ethType };
  if (p.arp) Object.assign(f, { arp_op: p.arp.op, arp_spa: p.arp.spa, arp_tpa: p.arp.tpa });
  if (p.ipv4) Object.assign(f, { ip_proto: p.ipv4.proto, ipv4_src: p.ipv4.src, ipv4_dst: p.ipv4.dst });
  if (p.icmp) Object.assign(f, { icmpv4_type: p.icmp.type });
  if (p.l4 && p.ipv4?.proto === 6) Object.assign(f, { tcp_src: p.l4.src, tcp_dst: p.l4.dst });
  if (p.l4 && p.ipv4?.proto === 17) Object.assign(f, { udp_src: p.l4.src, udp_dst: p.l4.dst });
  return f;
}

function syn(clientPort: number, clientIp = '10.0.0.101', dstPort = 80): Buffer {
  return ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:64', srcIp: clientIp, dstIp: '10.0.0.100', proto: 'tcp', srcPort: clientPort, dstPort });
}

function delivered(outcomes: Outcome[]): { port: number; fields: PacketFields } {
  const out = outcomes.filter((o) => o.kind === 'output');
  expect(out).toHaveLength(1);
  return out[0] as { port: number; fields: PacketFields };
}

describe('LoadBalancerApp: does this packet reach this backend?', () => {
  it('sends a new TCP connection to a backend, rewritten to its MAC, IP and software port', () => {
    const h = new Harness('rr');
    const { outcomes } = h.send(syn(40000));
    const out = delivered(outcomes);
    expect(out.port).toBe(1);
    expect(out.fields).toMatchObject({ eth_dst: VM_MACS['v-vm1'], ipv4_dst: '10.0.0.11', tcp_dst: 8080, ipv4_src: '10.0.0.101', tcp_src: 40000 });
    // The next packet of the connection stays in the datapath: no packet-in.
    const again = h.table.process(fieldsOf(syn(40000)), CLIENT_PORT, h.now);
    expect(again.some((o) => o.kind === 'controller')).toBe(false);
    expect(delivered(again).port).toBe(1);
  });

  it('rewrites the reply so the client sees the VIP as source', () => {
    const h = new Harness('rr');
    h.send(syn(40001));
    const reply = ipv4Frame({ srcMac: VM_MACS['v-vm1'], dstMac: CLIENT_MAC, srcIp: '10.0.0.11', dstIp: '10.0.0.101', proto: 'tcp', srcPort: 8080, dstPort: 40001, tcpFlags: 0x12 });
    const out = delivered(h.table.process(fieldsOf(reply), 1, h.now));
    expect(out.port).toBe(CLIENT_PORT);
    expect(out.fields).toMatchObject({ ipv4_src: '10.0.0.100', tcp_src: 80, eth_src: '02:00:0a:00:00:64', eth_dst: CLIENT_MAC });
  });

  it('rr gives each VM every third connection whatever its number of ports, and rotates ports on a VM', () => {
    const h = new Harness('rr');
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const out = delivered(h.send(syn(41000 + i)).outcomes);
      seen.push(`${out.fields.ipv4_dst}:${out.fields.tcp_dst}`);
    }
    expect(seen).toEqual(['10.0.0.11:8080', '10.0.0.12:8080', '10.0.0.13:8080', '10.0.0.11:8081', '10.0.0.12:8080', '10.0.0.13:8080']);
  });

  it('keeps traffic that is not for a VIP switching normally', () => {
    const h = new Harness();
    const other = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VM_MACS['v-vm2'], srcIp: '10.0.0.101', dstIp: '10.0.0.12', proto: 'tcp', srcPort: 5000, dstPort: 22 });
    expect(h.send(other).outcomes).toEqual([expect.objectContaining({ kind: 'normal' })]);
  });

  it('answers ARP for the VIP with the VIP MAC, and ICMP echo to the VIP', () => {
    const h = new Harness();
    const arp = h.send(arpRequest(CLIENT_MAC, '10.0.0.101', '10.0.0.100')).replies;
    expect(arp).toHaveLength(1);
    const parsedArp = parsePacket(arp[0].data);
    expect(parsedArp.ok && parsedArp.packet.arp).toMatchObject({ op: 2, sha: '02:00:0a:00:00:64', spa: '10.0.0.100', tpa: '10.0.0.101' });
    const ping = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:64', srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'icmp' });
    const echo = h.send(ping).replies;
    expect(echo).toHaveLength(1);
    const parsedEcho = parsePacket(echo[0].data);
    expect(parsedEcho.ok && parsedEcho.packet.icmp).toMatchObject({ type: 0 });
    expect(echo[0].actions).toEqual([{ type: 'output', port: CLIENT_PORT, maxLen: 0 }]);
  });

  it('refuses a port with no service with a TCP RST, and a stray non-SYN segment too', () => {
    const h = new Harness();
    const r = h.send(syn(40002, '10.0.0.101', 443)).replies;
    expect(r).toHaveLength(1);
    const p = parsePacket(r[0].data);
    expect(p.ok && (p.packet.l4?.tcpFlags ?? 0) & 0x04).toBeTruthy();
    const ack = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:64', srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'tcp', srcPort: 40003, dstPort: 80, tcpFlags: 0x10 });
    expect(h.send(ack).replies).toHaveLength(1);
    expect(h.app.connectionRecords()).toHaveLength(0);
  });

  it('balances a UDP service and tracks its connections as inactive', () => {
    const h = new Harness();
    const dns = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:64', srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'udp', srcPort: 5555, dstPort: 53 });
    const out = delivered(h.send(dns).outcomes);
    expect(out.fields).toMatchObject({ ipv4_dst: '10.0.0.11', udp_dst: 5353 });
    expect(h.app.connectionRecords('dns')[0].record.state).toBe('inactive');
  });

  it('counts connections until their flows idle out, then forgets them', () => {
    const h = new Harness('lc');
    h.send(syn(42000));
    h.send(syn(42001));
    expect(h.app.connectionCount('web', 'v-vm1') + h.app.connectionCount('web', 'v-vm2') + h.app.connectionCount('web', 'v-vm3')).toBe(2);
    h.now += 31_000;
    h.expire();
    expect(h.app.connectionRecords()).toHaveLength(0);
    expect(h.table.flows(TABLE.FORWARD).filter((f) => f.priority > 0)).toHaveLength(0);
  });

  it('a drained backend gets no new connections; enabling it brings it back', () => {
    const h = new Harness('rr');
    h.app.drain('web', 'v-vm2');
    const targets = new Set<string>();
    for (let i = 0; i < 6; i++) targets.add(String(delivered(h.send(syn(43000 + i)).outcomes).fields.ipv4_dst));
    expect([...targets].sort()).toEqual(['10.0.0.11', '10.0.0.13']);
    h.app.enable('web', 'v-vm2');
    for (let i = 0; i < 3; i++) targets.add(String(delivered(h.send(syn(43100 + i)).outcomes).fields.ipv4_dst));
    expect(targets.has('10.0.0.12')).toBe(true);
  });

  it('a backend whose link goes down takes no new connections; its flows can be dropped', () => {
    const h = new Harness('rr');
    h.send(syn(44000)); // to v-vm1
    h.sw.ports.set(1, port(1, 'v-vm1', OFPPS_LINK_DOWN));
    h.app.onPortStatus(h.sw, { type: 'port_status', xid: 0, reason: 2, desc: h.sw.ports.get(1)! }, h.now);
    for (let i = 0; i < 4; i++) expect(delivered(h.send(syn(44100 + i)).outcomes).port).not.toBe(1);
    h.install(h.app.dropBackendConnections('web', 'v-vm1', h.now));
    // The old connection's packets now miss (the client gets a RST and reconnects elsewhere).
    const outcomes = h.table.process(fieldsOf(syn(44000)), CLIENT_PORT, h.now);
    expect(outcomes.some((o) => o.kind === 'controller')).toBe(true);
    expect(h.app.connectionRecords().filter((c) => c.record.backendId === 'v-vm1')).toHaveLength(0);
  });

  it('refuses cleanly when every backend is down', () => {
    const h = new Harness('wlc');
    for (const b of ['v-vm1', 'v-vm2', 'v-vm3']) h.app.setHealth('web', b, false);
    const { outcomes, replies } = h.send(syn(45000));
    expect(outcomes.some((o) => o.kind === 'output')).toBe(false);
    expect(replies).toHaveLength(1);
    expect(h.app.serviceStates().find((s) => s.config.name === 'web')!.refused).toBe(1);
  });

  it('rebuilds its connection table from the switch flows after a restart', () => {
    const h = new Harness('lc');
    for (let i = 0; i < 4; i++) h.send(syn(46000 + i));
    const stats: FlowStats[] = h.table.flows().filter((f: FlowMod) => f.priority === 1000).map((f) => ({
      tableId: f.tableId, durationSec: 1, durationNsec: 0, priority: f.priority, idleTimeout: f.idleTimeout, hardTimeout: 0, flags: f.flags,
      cookie: f.cookie, packetCount: 5n, byteCount: 300n, match: f.match, instructions: f.instructions,
    }));
    const restarted = new LoadBalancerApp(config('lc').services);
    restarted.onSwitchUp(h.sw, h.now);
    expect(restarted.restoreConnections(h.sw.dpid, stats, h.now)).toEqual([]);
    expect(restarted.connectionRecords()).toHaveLength(4);
    // lc carries on from the restored counts: the next connection goes to the least loaded VM.
    const before = ['v-vm1', 'v-vm2', 'v-vm3'].map((b) => restarted.connectionCount('web', b));
    expect(before.reduce((a, b) => a + b, 0)).toBe(4);
    const least = ['v-vm1', 'v-vm2', 'v-vm3'][before.indexOf(Math.min(...before))];
    const msgs = restarted.onPacketIn(h.sw, {
      type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: 0, reason: 0, tableId: 1, cookie: 0n,
      match: [{ field: 'in_port', value: CLIENT_PORT }], data: syn(46100),
    }, h.now);
    const fwd = msgs.find((m): m is FlowMod => m.type === 'flow_mod' && m.tableId === TABLE.FORWARD)!;
    const out = fwd.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : [])).find((a) => a.type === 'output');
    expect(out).toMatchObject({ port: Number(least.slice(-1)) });
  });

  it('a flow-removed for the forward flow deletes the reverse half too', () => {
    const h = new Harness('rr');
    h.send(syn(47000));
    const fwd = h.table.flows(TABLE.FORWARD).find((f) => f.priority === 1000)!;
    const msgs = h.app.onFlowRemoved(h.sw, {
      type: 'flow_removed', xid: 0, cookie: fwd.cookie, priority: 1000, reason: OFPRR_IDLE_TIMEOUT, tableId: TABLE.FORWARD,
      durationSec: 1, durationNsec: 0, idleTimeout: 30, hardTimeout: 0, packetCount: 1n, byteCount: 60n, match: fwd.match,
    }, h.now);
    expect(msgs).toEqual([expect.objectContaining({ type: 'flow_mod', command: 3, cookie: fwd.cookie })]);
    expect(h.app.connectionRecords()).toHaveLength(0);
  });
});

describe('LoadBalancerApp.onPacketInEncoded: the same decisions and bytes as onPacketIn', () => {
  /** Every message's bytes with xid 0, as the wire would carry them before the session numbers them. */
  function wireBytes(msgs: ReadonlyArray<OfpMessage | PreEncodedMessages>): string {
    return msgs.map((m) => (m.type === 'pre_encoded' ? m.bytes : encode(m)).toString('hex')).join('');
  }

  it('over SYNs, retransmits, stray segments, UDP, other ports, ARP and ICMP, through a backend drain and a link down', () => {
    const objects = new Harness('wlc', '    fin_timeout: 4');
    const wire = new Harness('wlc', '    fin_timeout: 4');
    const frames: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const client = `10.0.${1 + (i % 3)}.${1 + (i % 7)}`;
      const proto = i % 5 === 4 ? 'udp' : 'tcp';
      const dstPort = i % 11 === 10 ? 81 : proto === 'udp' ? 53 : 80;
      frames.push(ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:64', srcIp: client, dstIp: '10.0.0.100', proto, srcPort: 30000 + i, dstPort, tcpFlags: i % 13 === 12 ? 0x10 : 0x02 }));
    }
    frames.push(frames[0], frames[1]); // retransmitted first packets of known connections
    frames.push(arpRequest(CLIENT_MAC, '10.0.1.1', '10.0.0.100'));
    frames.push(ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:64', srcIp: '10.0.1.1', dstIp: '10.0.0.100', proto: 'icmp' }));
    let preEncoded = 0;
    frames.forEach((frame, i) => {
      if (i === 20) for (const h of [objects, wire]) h.app.drain('web', 'v-vm2');
      if (i === 30) for (const h of [objects, wire]) h.app.onPortStatus(h.sw, setLinkDown(h.sw, 3), h.now);
      const packetIn: PacketIn = {
        type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: TABLE.FORWARD, cookie: 0n,
        match: [{ field: 'in_port', value: CLIENT_PORT }], data: frame,
      };
      const expected = objects.app.onPacketIn(objects.sw, packetIn, 2000 + i);
      const got = wire.app.onPacketInEncoded(wire.sw, packetIn, 2000 + i);
      expect([i, wireBytes(got)]).toEqual([i, wireBytes(expected)]);
      for (const m of got) {
        if (m.type !== 'pre_encoded') continue;
        preEncoded++;
        expect([m.messages, m.flowMods]).toEqual([3, 2]);
      }
    });
    expect(preEncoded).toBeGreaterThan(20);
    expect(wire.app.drainEvents()).toEqual(objects.app.drainEvents());
    expect(wire.app.connectionRecords()).toEqual(objects.app.connectionRecords());
  });
});

/** Marks a switch port's link down in place and returns the port_status the switch would send. */
function setLinkDown(sw: SwitchInfo & { ports: Map<number, OfpPort> }, portNo: number): PortStatus {
  const desc = { ...sw.ports.get(portNo)!, state: OFPPS_LINK_DOWN };
  sw.ports.set(portNo, desc);
  return { type: 'port_status', xid: 0, reason: 2, desc };
}
