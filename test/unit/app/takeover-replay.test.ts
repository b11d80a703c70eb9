// Controller HA, a takeover's replay (issue 14): the standby held the packet-ins of the gap; once master, after the
// restore read back what the old master placed, it replays them. Does each replayed packet reach one backend, once,
// and is a connection the old master placed left where it is? Every NAT mode, through the fake flow table.
import { LoadBalancerApp } from '../../../src/app';
import { PacketInRing, replayHeld } from '../../../src/controller/packet-in-ring';
import type { OfpMessage, PacketIn } from '../../../src/openflow/types';
import { parseCookie } from '../../../src/flows/cookies';
import type { Outcome } from '../../helpers/fake-flow-table';
import { AppHarness, CLIENT_PORT, NAT_MODES, defaultServices, delivered, fieldsOf, flowRemovedOf, fromClient } from '../../helpers/app-harness';

const TCP_ACK = 0x10;
const outputs = (outcomes: Outcome[]) => outcomes.filter((o) => o.kind === 'output');
const backendOf = (outcomes: Outcome[]) => {
  const out = delivered(outcomes);
  return `${out.fields.ipv4_dst}:${out.fields.tcp_dst}`;
};

describe.each(NAT_MODES)('takeover replay ($name)', (mode) => {
  /** The master (h.app, h.table as the switch), a hot standby holding what the switch sends it, and a promotion. */
  function pair(scheduler = 'rr') {
    const h = new AppHarness(mode, defaultServices(scheduler));
    const config = AppHarness.config(mode, defaultServices(scheduler));
    const standby = new LoadBalancerApp(config.services, { datapath: config.datapath, emit: () => undefined });
    standby.switchUp(h.sw, h.now); // a slave's writes are withheld: nothing reaches the switch
    standby.restore(h.sw.dpid, h.accountingReading(), h.now);
    const ring = new PacketInRing();
    h.standbyCopy = (p) => ring.push(p, h.now);
    const replayed: { packetIn: PacketIn; outcomes: Outcome[] }[] = [];
    return {
      h, standby, ring, replayed,
      /** The master dies; then a client's SYN reaches the switch (the standby holds it, nobody answers). */
      synInTheGap(clientPort: number): Outcome[] {
        h.answer = () => [];
        return h.send(fromClient(clientPort)).outcomes;
      },
      /**
       * Mastership: the standby's flows, the restore from the datapath, then the replay; it answers from now on.
       * `beforeRestore`: what the switch sends the new master before its reading of the datapath comes back.
       */
      promote(beforeRestore?: () => void) {
        h.standbyCopy = undefined;
        h.answer = (p) => standby.packetIn(h.sw, p, h.now);
        h.install(standby.switchUp(h.sw, h.now));
        beforeRestore?.();
        h.install(standby.restore(h.sw.dpid, h.accountingReading(), h.now));
        return replayHeld(ring.take(h.now), (m) => standby.heldVerdict(m), (m) => {
          const msgs: OfpMessage[] = standby.packetIn(h.sw, m, h.now);
          h.install(msgs);
          replayed.push({ packetIn: m, outcomes: h.execute(fieldsOf(m.data), CLIENT_PORT, msgs).outcomes });
        });
      },
    };
  }

  it('a SYN only the dead master got reaches one backend, once; SYNs the old master answered are not sent again', () => {
    const p = pair();
    const { h } = p;
    // Answered by the master (the standby holds copies): each reached its backend once.
    const placed = [47000, 47001].map((port) => backendOf(h.send(fromClient(port)).outcomes));
    h.now += 100;
    expect(outputs(p.synInTheGap(47002))).toEqual([]); // the gap: nobody answers
    h.now += 30;
    const report = p.promote();
    expect(report).toEqual({ replayed: 1, ends: 0, known: 2, tooOld: 0, dropped: 0, clients: ['10.0.0.101:47002'] });
    // the gap's SYN: one output, the SYN itself NATed to a backend
    expect(p.replayed).toHaveLength(1);
    const gapOut = delivered(p.replayed[0].outcomes);
    expect(gapOut.fields).toMatchObject({ ipv4_src: '10.0.0.101', tcp_src: 47002 });
    // the connections the old master placed stay on their backends; the gap's goes on where the replay sent it
    h.now += 10;
    expect([47000, 47001].map((port) => backendOf(h.send(fromClient(port, { flags: TCP_ACK })).outcomes))).toEqual(placed);
    expect(backendOf(h.send(fromClient(47002, { flags: TCP_ACK })).outcomes)).toBe(`${gapOut.fields.ipv4_dst}:${gapOut.fields.tcp_dst}`);
    expect(p.standby.connectionRecords().map((c) => c.record.clientPort).sort()).toEqual([47000, 47001, 47002]);
  });

  it('a client that retransmitted its SYN to the new master before the replay is not placed twice', () => {
    const p = pair();
    const { h } = p;
    p.synInTheGap(47100);
    h.now += 500;
    // the new master answers the retransmission itself; the held copy is then known
    let first = '';
    const report = p.promote(() => {
      first = backendOf(h.send(fromClient(47100)).outcomes);
    });
    expect(report).toMatchObject({ replayed: 0, ends: 0, known: 1 });
    expect(p.replayed).toEqual([]);
    expect(backendOf(h.send(fromClient(47100, { flags: TCP_ACK })).outcomes)).toBe(first);
  });

  it('a SYN that reaches the new master before its restore is held and placed after it, with a connection id of its own', () => {
    const p = pair();
    const { h } = p;
    // The old master places a connection after the standby's last reading (its restore at switch-up): the standby's
    // next connection id is that connection's.
    const old = backendOf(h.send(fromClient(48000)).outcomes);
    const oldCookies = new Set(h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'connection').map((f) => f.cookie));
    h.now += 20_000;
    // Master, before its reading of the datapath has come back: the controller holds the packet-in
    // (holdAfterMastershipMs); the replay after the restore decides it.
    const report = p.promote(() => {
      h.answer = (m) => {
        p.ring.push(m, h.now);
        return [];
      };
      expect(outputs(h.send(fromClient(48001)).outcomes)).toEqual([]);
      h.answer = (m) => p.standby.packetIn(h.sw, m, h.now);
    });
    expect(report).toMatchObject({ replayed: 1, clients: ['10.0.0.101:48001'] });
    const placed = backendOf(p.replayed[0].outcomes);
    const newCookies = h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'connection' && !oldCookies.has(f.cookie));
    if (oldCookies.size > 0) expect(newCookies.length).toBeGreaterThan(0);
    expect(backendOf(h.send(fromClient(48001, { flags: TCP_ACK })).outcomes)).toBe(placed);
    // The old master's connection idles out (the new one has carried a packet since): the switch reports it, and
    // the new master's answer leaves the new connection's flows alone.
    h.now += 15_000;
    for (const removed of h.table.expire(h.now / 1000)) {
      if (removed.notify) h.install(p.standby.flowRemoved(h.sw, flowRemovedOf(removed.flow, removed.reason), h.now));
    }
    expect(old).not.toBe('');
    expect(backendOf(h.send(fromClient(48001, { flags: TCP_ACK })).outcomes)).toBe(placed);
  });

  it('held packet-ins older than the ring\'s age bound are not replayed (their clients have retransmitted)', () => {
    const p = pair();
    p.synInTheGap(47200);
    p.h.now += 1500;
    expect(p.promote()).toMatchObject({ replayed: 0, ends: 0, known: 0, tooOld: 1 });
    expect(p.replayed).toEqual([]);
  });
});
