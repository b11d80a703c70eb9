// Does this packet reach this backend (and the reply the client)? The app's behaviour, the same in every NAT
// mode: one harness (test/helpers/app-harness.ts), run for each mode. Mode-specific behaviour is in the
// per-mode files beside this one.
import { LoadBalancerApp } from '../../../src/app';
import type { OutboundMessage } from '../../../src/controller/types';
import { parsePacket } from '../../../src/flows';
import { encode } from '../../../src/openflow/codec';
import type { OfpMessage, PacketIn } from '../../../src/openflow/types';
import {
  AppHarness, backendYaml, CLIENT_MAC, CLIENT_PORT, defaultServices, delivered, expectFastPathFollows, fieldsOf, fromBackend, fromClient, NAT_MODES, VIP_MAC,
  VMS,
} from '../../helpers/app-harness';
import { arpRequest, ipv4Frame } from '../../helpers/frames';

const TCP_ACK = 0x10;

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('LoadBalancerApp, %s mode: does this packet reach this backend?', (_name, mode) => {
  it('sends a new TCP connection to a backend, rewritten to its MAC, IP and software port', () => {
    const h = new AppHarness(mode);
    const out = delivered(h.send(fromClient(40000)).outcomes);
    expect(out.port).toBe(VMS['v-vm1'].ofport);
    expect(out.fields).toMatchObject({ eth_dst: VMS['v-vm1'].mac, ipv4_dst: '10.0.0.11', tcp_dst: 8080, ipv4_src: '10.0.0.101', tcp_src: 40000 });
  });

  it('the reply reaches the client from the VIP, and the rest of the connection stays in the datapath', () => {
    const h = new AppHarness(mode);
    h.send(fromClient(40001));
    const reply = delivered(h.send(fromBackend('v-vm1', 40001), VMS['v-vm1'].ofport).outcomes);
    expect(reply.port).toBe(CLIENT_PORT);
    expect(reply.fields).toMatchObject({ eth_src: VIP_MAC, ipv4_src: '10.0.0.100', tcp_src: 80, ipv4_dst: '10.0.0.101', tcp_dst: 40001 });
    for (let i = 0; i < 3; i++) {
      const outcomes = h.table.process(fieldsOf(fromClient(40001, { flags: TCP_ACK })), CLIENT_PORT, h.now / 1000);
      expect(outcomes.some((o) => o.kind === 'controller')).toBe(false);
      expect(delivered(outcomes)).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { ipv4_dst: '10.0.0.11', tcp_dst: 8080 } });
    }
    expect(h.packetIns).toBe(1);
  });

  it('rr gives each VM every third connection whatever its number of ports, and rotates ports on a VM', () => {
    const h = new AppHarness(mode);
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const out = delivered(h.send(fromClient(41000 + i)).outcomes);
      seen.push(`${out.fields.ipv4_dst}:${out.fields.tcp_dst}`);
    }
    expect(seen).toEqual(['10.0.0.11:8080', '10.0.0.12:8080', '10.0.0.13:8080', '10.0.0.11:8081', '10.0.0.12:8080', '10.0.0.13:8080']);
  });

  it('a retransmitted first packet goes where the first one went, without a new decision', () => {
    const h = new AppHarness(mode);
    const first = delivered(h.send(fromClient(50001)).outcomes).port;
    const decisions = h.app.serviceStates()[0].decisions;
    // Sent to the controller again (as a datapath cache race or a quick retransmit would): the same backend.
    const again = h.app.packetIn(h.sw, packetIn(fromClient(50001)), h.now);
    h.install(again);
    expect(h.app.serviceStates()[0].decisions).toBe(decisions);
    expect(again.filter((m) => m.type === 'flow_mod')).toEqual([]);
    expect(delivered(h.table.process(fieldsOf(fromClient(50001)), CLIENT_PORT, h.now / 1000)).port).toBe(first);
  });

  it('keeps traffic that is not for a VIP switching normally', () => {
    const h = new AppHarness(mode);
    const other = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VMS['v-vm2'].mac, srcIp: '10.0.0.101', dstIp: '10.0.0.12', proto: 'tcp', srcPort: 5000, dstPort: 22 });
    expect(h.send(other).outcomes.map((o) => o.kind)).toEqual(['normal']);
  });

  it('answers ARP for the VIP with the VIP MAC, and ICMP echo to the VIP', () => {
    const h = new AppHarness(mode);
    const arp = h.send(arpRequest(CLIENT_MAC, '10.0.0.101', '10.0.0.100')).replies;
    expect(arp).toHaveLength(1);
    const parsedArp = parsePacket(arp[0].data);
    expect(parsedArp.ok && parsedArp.packet.arp).toMatchObject({ op: 2, sha: VIP_MAC, spa: '10.0.0.100', tpa: '10.0.0.101' });
    const echo = h.send(ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'icmp' })).replies;
    expect(echo).toHaveLength(1);
    const parsedEcho = parsePacket(echo[0].data);
    expect(parsedEcho.ok && parsedEcho.packet.icmp).toMatchObject({ type: 0 });
    expect(echo[0].actions).toEqual([{ type: 'output', port: CLIENT_PORT, maxLen: 0 }]);
  });

  it('refuses a port with no service with a TCP RST, and a stray non-SYN segment too', () => {
    const h = new AppHarness(mode);
    const r = h.send(fromClient(40002, { dstPort: 443 })).replies;
    expect(r).toHaveLength(1);
    const p = parsePacket(r[0].data);
    expect(p.ok && (p.packet.l4?.tcpFlags ?? 0) & 0x04).toBeTruthy();
    expect(h.send(fromClient(40003, { flags: TCP_ACK })).replies).toHaveLength(1);
    expect(h.app.connectionRecords()).toHaveLength(0);
    expect(h.events.filter((e) => e.kind === 'connection_refused')).toHaveLength(2);
  });

  it('places no fragment: a SYN in IPv4 fragments comes up by the VIP refuse flow (OVS looks fragments up without ports) and is refused unanswered', () => {
    const h = new AppHarness(mode);
    const whole = fromClient(40010);
    const first = Buffer.from(whole);
    first.writeUInt16BE(0x2000, 14 + 6); // MF: more fragments follow (the header checksum is nobody's business here)
    const later = Buffer.from(whole);
    later.writeUInt16BE(0x0003, 14 + 6); // offset 24 bytes, the last one
    for (const fragment of [first, later]) expect(h.send(fragment)).toEqual({ outcomes: [], replies: [] });
    expect(h.packetIns).toBe(2);
    const web = h.app.serviceStates()[0];
    expect([web.decisions, web.refused, h.app.connectionRecords().length]).toEqual([0, 1, 0]);
    expect(h.events.filter((e) => e.kind === 'connection_refused').map((e) => e.message)).toEqual([
      'refused 10.0.0.101:40010 -> 10.0.0.100:80: an IP fragment (OVS matches no ports in fragments: vadc places none)',
    ]);
  });

  it('balances a UDP service, tracks it as inactive, and the answer comes from VIP:53', () => {
    const h = new AppHarness(mode);
    const out = delivered(h.send(fromClient(5555, { proto: 'udp' })).outcomes);
    expect(out.fields).toMatchObject({ ipv4_dst: '10.0.0.11', udp_dst: 5353 });
    expect(h.app.connectionRecords('dns')[0].record.state).toBe('inactive');
    const reply = delivered(h.send(fromBackend('v-vm1', 5555, { proto: 'udp', backendPort: 5353 }), VMS['v-vm1'].ofport).outcomes);
    expect(reply).toMatchObject({ port: CLIENT_PORT, fields: { ipv4_src: '10.0.0.100', udp_src: 53, eth_src: VIP_MAC } });
  });

  it('counts connections until the datapath says they ended, then forgets them', () => {
    const h = new AppHarness(mode, defaultServices('lc'));
    h.send(fromClient(42000));
    h.send(fromClient(42001));
    const total = () => ['v-vm1', 'v-vm2', 'v-vm3'].reduce((n, b) => n + h.app.connectionCount('web', b), 0);
    expect(total()).toBe(2);
    h.endAllConnections();
    expect(total()).toBe(0);
    expect(h.app.connectionRecords()).toHaveLength(0);
  });

  it('a drained backend gets no new connections; enabling it brings it back', () => {
    const h = new AppHarness(mode);
    h.install(h.app.drain('web', 'v-vm2'));
    const targets = new Set<string>();
    for (let i = 0; i < 6; i++) targets.add(String(delivered(h.send(fromClient(43000 + i)).outcomes).fields.ipv4_dst));
    expect([...targets].sort()).toEqual(['10.0.0.11', '10.0.0.13']);
    h.install(h.app.enable('web', 'v-vm2'));
    for (let i = 0; i < 3; i++) targets.add(String(delivered(h.send(fromClient(43100 + i)).outcomes).fields.ipv4_dst));
    expect(targets.has('10.0.0.12')).toBe(true);
  });

  it('a backend whose link goes down takes no new connections; dropping its connections sends its clients back to vadc', () => {
    const h = new AppHarness(mode);
    h.send(fromClient(44000)); // to v-vm1
    h.setLink(VMS['v-vm1'].ofport, false);
    for (let i = 0; i < 4; i++) expect(delivered(h.send(fromClient(44100 + i)).outcomes).port).not.toBe(VMS['v-vm1'].ofport);
    h.install(h.app.setHealth('web', 'v-vm1', false));
    h.install(h.app.dropBackendConnections('web', 'v-vm1', h.now));
    // The old connection's next packet reaches vadc, which resets it (the client reconnects elsewhere).
    const { outcomes, replies } = h.send(fromClient(44000, { flags: TCP_ACK }));
    expect(outcomes.some((o) => o.kind === 'output' && o.port === VMS['v-vm1'].ofport)).toBe(false);
    expect(replies).toHaveLength(1);
    expect(h.app.connectionRecords().filter((c) => c.record.backendId === 'v-vm1')).toHaveLength(0);
  });

  it('refuses cleanly when every backend is down', () => {
    const h = new AppHarness(mode, defaultServices('wlc'));
    for (const b of ['v-vm1', 'v-vm2', 'v-vm3']) h.install(h.app.setHealth('web', b, false));
    const { outcomes, replies } = h.send(fromClient(45000));
    expect(outcomes.some((o) => o.kind === 'output')).toBe(false);
    expect(replies).toHaveLength(1);
    expect(h.app.serviceStates().find((s) => s.config.name === 'web')!.refused).toBe(1);
  });

  it('a restarted app re-tracks the connections the datapath kept, and least-connection carries on from them', () => {
    const h = new AppHarness(mode, defaultServices('lc'));
    for (let i = 0; i < 4; i++) h.send(fromClient(46000 + i));
    const config = AppHarness.config(mode, defaultServices('lc'));
    const events: string[] = [];
    const restarted = new LoadBalancerApp(config.services, { datapath: config.datapath, emit: (e) => events.push(e.kind) });
    restarted.switchUp(h.sw, h.now);
    const cleanup = restarted.restore(h.sw.dpid, h.accountingReading(), h.now);
    expect(cleanup.flatMap((b) => b.msgs)).toEqual([]);
    expect(restarted.connectionRecords()).toHaveLength(4);
    expect(events).toContain('connections_restored');
    const counts = ['v-vm1', 'v-vm2', 'v-vm3'].map((b) => restarted.connectionCount('web', b));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
    // The next connection goes to the least loaded VM.
    const least = (['v-vm1', 'v-vm2', 'v-vm3'] as const)[counts.indexOf(Math.min(...counts))];
    const msgs = restarted.packetIn(h.sw, packetIn(fromClient(46100)), h.now);
    const outputs = msgs.flatMap((m) => (m.type === 'packet_out' ? m.actions : m.type === 'flow_mod' ? m.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : [])) : []))
      .filter((a) => a.type === 'output').map((a) => (a.type === 'output' ? a.port : 0));
    expect(outputs).toContain(VMS[least].ofport);
  });

  it('overlapping VIPs on one port: the longest prefix wins, in the switch and in the app, whatever the config order', () => {
    const h = new AppHarness(mode, `
services:
  - name: net
    vip: 10.0.0.96/28
    port: 80
    scheduler: dh
    backends:
${backendYaml('v-vm1', [8080])}
  - name: host
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    backends:
${backendYaml('v-vm2', [8080])}
`);
    expect(delivered(h.send(fromClient(48000)).outcomes).port).toBe(VMS['v-vm2'].ofport);
    // (The /28, not the backends' /24: a backend inside a VIP prefix is refused.)
    const other = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.1.101', dstIp: '10.0.0.99', proto: 'tcp', srcPort: 48001, dstPort: 80 });
    expect(delivered(h.send(other).outcomes).port).toBe(VMS['v-vm1'].ofport);
    expect(h.app.connectionRecords().map((c) => c.service).sort()).toEqual(['host', 'net']);
  });

  it('packetInEncoded makes the same decisions and writes the same bytes as packetIn, through a drain and a link down', () => {
    const objects = new AppHarness(mode, defaultServices('wlc', '    fin_timeout: 4'));
    const wire = new AppHarness(mode, defaultServices('wlc', '    fin_timeout: 4'));
    const frames: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const clientIp = `10.0.${1 + (i % 3)}.${1 + (i % 7)}`;
      const proto = i % 5 === 4 ? 'udp' : 'tcp';
      const dstPort = i % 11 === 10 ? 81 : proto === 'udp' ? 53 : 80;
      frames.push(fromClient(30000 + i, { clientIp, proto, dstPort, flags: i % 13 === 12 ? TCP_ACK : 0x02 }));
    }
    frames.push(frames[0], frames[1]); // retransmitted first packets of known connections
    frames.push(arpRequest(CLIENT_MAC, '10.0.1.1', '10.0.0.100'));
    frames.push(ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.1.1', dstIp: '10.0.0.100', proto: 'icmp' }));
    let fastPath = 0;
    frames.forEach((frame, i) => {
      if (i === 20) for (const h of [objects, wire]) h.app.drain('web', 'v-vm2');
      if (i === 30) for (const h of [objects, wire]) h.setLink(VMS['v-vm3'].ofport, false);
      const expected = objects.app.packetIn(objects.sw, packetIn(frame), 2000 + i);
      const got = wire.app.packetInEncoded(wire.sw, packetIn(frame), 2000 + i);
      expect([i, wireBytes(got)]).toEqual([i, wireBytes(expected)]);
      fastPath += got.filter((m) => m.type === 'pre_encoded').length;
    });
    expect(fastPath).toBeGreaterThan(20);
    expect(wire.events).toEqual(objects.events);
    expect(wire.app.connectionRecords()).toEqual(objects.app.connectionRecords());
  });

  it('packetInEncoded follows what the bytes it keeps were made of: a vNIC moved to another port, a readdressed backend, a service now TCP', () => {
    expectFastPathFollows(mode, defaultServices, fromClient, { vm2: ['10.0.0.12', '10.0.0.22'] });
  });
});


function packetIn(frame: Buffer): PacketIn {
  return {
    type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: 1, cookie: 0n,
    match: [{ field: 'in_port', value: CLIENT_PORT }], data: frame,
  };
}

/** Every message's bytes with xid 0, as the wire would carry them before the session numbers them. */
function wireBytes(msgs: ReadonlyArray<OfpMessage | OutboundMessage>): string {
  return msgs.map((m) => (m.type === 'pre_encoded' ? m.bytes : encode(m)).toString('hex')).join('');
}
