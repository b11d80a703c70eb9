// Conntrack mode with end copies: each connection's end comes from its FIN copies and the tracker's listing is spaced
// up to a minute. Ended entries leave vadc's tables a close timeout after their end at each statistics poll
// (StatsPoller.sweepEnded), not at the next listing: the tables stay bounded by the end rate times the close timeout
// and the poll interval, whatever a peer's churn (before: the end rate times the listing's spacing).
import type { LoadBalancerApp } from '../../../src/app';
import { StatsPoller } from '../../../src/daemon/stats-poller';
import { AppHarness, CLIENT_PORT, defaultServices, delivered, fromBackend, fromClient, NAT_MODES, openTcp, VMS } from '../../helpers/app-harness';

const FIN_ACK = 0x11;
const SYN = 0x02;
const conntrack = NAT_MODES.find((m) => m.name === 'conntrack')!;

/** The poller as far as the sweep goes: it reads the app's services only. */
const sweeperOf = (app: LoadBalancerApp) => new StatsPoller({ app } as unknown as ConstructorParameters<typeof StatsPoller>[0]);

function openAndClose(h: AppHarness, clientPort: number): void {
  const vm = openTcp(h, clientPort);
  h.send(fromClient(clientPort, { flags: FIN_ACK }));
  h.send(fromBackend(vm, clientPort, { flags: FIN_ACK }), VMS[vm].ofport);
}

describe('ended entries under churn, conntrack mode with end copies (the listing a backstop)', () => {
  it('stay bounded by the end rate x (close timeout + poll interval) with no listing at all, and a reused port is placed anew', async () => {
    const h = new AppHarness(conntrack, defaultServices('rr'));
    const keptMs = h.app.nat.accounting.endedKeptMs!;
    expect(keptMs).toBe(2000); // vadc's default policy
    const sweeper = sweeperOf(h.app);
    const table = () => h.app.serviceStates()[0].lb.connections;
    const pollMs = 2000;
    let most = 0;
    let clientPort = 20_000;
    // 20 connections a second for 30 s, each ended by both FIN copies; a poll every 2 s; no tracker listing.
    const rate = 20;
    for (let step = 1; step <= 300; step++) {
      h.now += 100;
      for (let i = 0; i < rate / 10; i++) openAndClose(h, clientPort++);
      most = Math.max(most, table().size);
      if (step % (pollMs / 100) === 0) await sweeper.sweepEnded(h.now);
    }
    // 600 ended without the sweep; with it, what ended within the close timeout and one poll interval.
    expect(most).toBeGreaterThanOrEqual(rate * (keptMs / 1000));
    expect(most).toBeLessThanOrEqual(rate * ((keptMs + pollMs) / 1000));
    expect(table().size).toBeLessThanOrEqual(rate * (keptMs / 1000));
    const b = h.app.serviceStates()[0].lb.backends;
    expect(b.reduce((n, m) => n + m.totalConns, 0)).toBe(0);
    expect(b.reduce((n, m) => n + m.completedConns, 0)).toBe(600);

    // A SYN of a port swept away is a new connection (the tracker let the old one go as well): placed and tracked.
    const reused = 20_000;
    expect(table().lookup({ proto: 6, clientIp: 0, clientPort: reused, vip: 0, vipPort: 80 })).toBeNull();
    const placedAt = h.now;
    expect(delivered(h.send(fromClient(reused, { flags: SYN })).outcomes).port).not.toBe(CLIENT_PORT);
    expect(table().export().find((r) => r.clientPort === reused)).toMatchObject({ created: placedAt, state: 'active' });
  });
});
