// A service's scheduler changed by a new configuration (`vadc config apply`, a store override): made in place, so the
// connections in flight keep their backend, their flows and their counts in every NAT mode. In flows mode the service
// used to be rebuilt: its connection flows were deleted with the old state and the client's next segment reached vadc,
// which knew no such connection and answered a RST (the cluster-host e2e's ECONNRESET under load, tidy14/tidy15).
import type { FeedbackScheduler } from '../../../src/lb/schedulers/feedback';
import { AppHarness, defaultServices, delivered, fromBackend, fromClient, NAT_MODES, openTcp as open, VMS } from '../../helpers/app-harness';

const PSH_ACK = 0x18;
const RST = 0x04;

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('a scheduler change, %s mode', (_name, mode) => {
  it('keeps the connection in flight: its next segments pass translated both ways, with no packet-in and no RST', () => {
    const h = new AppHarness(mode, defaultServices('rr'));
    const vm = open(h, 40000);
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    const before = h.app.serviceStates()[0];
    h.install(h.app.setServices(AppHarness.config(mode, defaultServices('sh')).services, h.now));
    expect(h.app.serviceStates()[0]).toBe(before); // the same state, not a rebuilt one
    const packetIns = h.packetIns;
    const data = h.send(fromClient(40000, { flags: PSH_ACK }));
    expect(data.replies.filter((r) => r.data.readUInt8(47) & RST)).toEqual([]);
    expect(delivered(data.outcomes)).toMatchObject({ port: VMS[vm].ofport, fields: { ipv4_dst: VMS[vm].ip, tcp_dst: 8080 } });
    const reply = h.send(fromBackend(vm, 40000, { flags: PSH_ACK }), VMS[vm].ofport);
    expect(delivered(reply.outcomes)).toMatchObject({ fields: { ipv4_src: '10.0.0.100', tcp_src: 80, ipv4_dst: '10.0.0.101', tcp_dst: 40000 } });
    expect(h.packetIns).toBe(packetIns);
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    expect(h.app.serviceStates()[0].lb.backendById(vm)!.activeConns).toBe(1);
  });

  it('places the next connections by the new scheduler (sh: one client, one backend; rr before: each in turn)', () => {
    const h = new AppHarness(mode, defaultServices('rr'));
    expect(new Set([41000, 41001, 41002].map((p) => open(h, p))).size).toBe(3);
    h.install(h.app.setServices(AppHarness.config(mode, defaultServices('sh')).services, h.now));
    expect(h.app.serviceStates()[0].config.scheduler).toBe('sh');
    expect(new Set([42000, 42001, 42002, 42003].map((p) => open(h, p))).size).toBe(1);
  });
});

describe('a feedback_interval change', () => {
  // The queue readings of a feedback service go stale after 2.5 intervals: at 2 s, a reading 3 s old still counts; at
  // 1 s it does not. Two readings of a busy member give it a time per connection (Little's law) while fresh.
  const expectedWaitAfter = (h: AppHarness, ageMs: number): number => {
    const lb = h.app.serviceStates()[0].lb;
    const scheduler = lb.scheduler as FeedbackScheduler;
    const member = lb.backendById('v-vm2')!;
    scheduler.feed(member.id, { at: 1000, rxPackets: 0, txPackets: 0, txDropped: 0 }, { outstanding: 2, completed: 0 });
    scheduler.feed(member.id, { at: 2000, rxPackets: 100, txPackets: 100, txDropped: 0 }, { outstanding: 2, completed: 10 });
    return scheduler.expectedWait(member, 2000 + ageMs);
  };

  it('changes how long the queue readings count, in place (connections stay)', () => {
    const mode = NAT_MODES[0];
    const h = new AppHarness(mode, defaultServices('feedback', '    feedback_interval: 2'));
    expect(Number.isFinite(expectedWaitAfter(h, 3000))).toBe(true);
    const before = h.app.serviceStates()[0];
    h.install(h.app.setServices(AppHarness.config(mode, defaultServices('feedback', '    feedback_interval: 1')).services, h.now));
    expect(h.app.serviceStates()[0]).toBe(before); // the same state, not a rebuilt one
    expect(expectedWaitAfter(h, 3000)).toBe(Infinity);
    expect(Number.isFinite(expectedWaitAfter(h, 2000))).toBe(true);
  });
});
