// A backend that answers nothing (a black hole: the SYN goes, no SYN-ACK, no RST, so no end copy either) in conntrack
// mode with end copies, where the tracker's listing is only a backstop spaced up to a minute (datapath.listing_share).
// The outlier detector learns of its failures only from a listing; the poll asks for one as soon as it would judge the
// port's unanswered connections (connect_timeout after the last of a run that could eject it): the port is ejected
// within connect_timeout + two poll intervals of going silent (its third connection comes within one), not at the next
// regular listing.
import type { ConntrackEntry } from '../../../src/flows/conntrack-dump';
import { listingSpacingLimit, MAX_READING_SPACING_MS } from '../../../src/daemon/reading-spacing';
import { StatsPoller } from '../../../src/daemon/stats-poller';
import { AppHarness, delivered, fromBackend, fromClient, NAT_MODES, VMS, webOver, type VmName } from '../../helpers/app-harness';

const conntrack = NAT_MODES.find((m) => m.name === 'conntrack')!;
const [SYN, SYN_ACK, ACK, FIN_ACK] = [0x02, 0x12, 0x10, 0x11];
const POLL_MS = 1000;
const ipv4Number = (ip: string): number => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const CONNECT_TIMEOUT_MS = 2000; // the default outlier.connect_timeout

/** web over three VMs; a poller reading the fake tracker (its listing costing 200 ms of ovs-vswitchd: spaced to the minute's cap). */
function setUp(silent: Set<VmName>) {
  const h = new AppHarness(conntrack, webOver(['v-vm1', 'v-vm2', 'v-vm3']));
  // What the tracker lists: a silent backend's connections never left SYN_SENT; the others established.
  const isSilent = (e: ConntrackEntry) => [...silent].some((vm) => ipv4Number(VMS[vm].ip) === e.reply.src);
  const listing = (): ConntrackEntry[] => h.trackerListing().map((e) => (isSilent(e) ? { ...e, state: 'SYN_SENT' } : e));
  let readings = 0;
  const poller = new StatsPoller({
    controller: { switches: () => [] }, app: h.app, health: { updateLoads: () => undefined }, logger: { debug: () => undefined }, now: () => h.now,
    reader: { poll: () => { readings++; return Promise.resolve({ input: { source: 'tracker', entries: listing() }, answerWaitMs: 200 }); } },
    deliver: (b: Parameters<AppHarness['install']>[0]) => h.install(b),
    readingsWithinMs: () => listingSpacingLimit(h.app.serviceStates(), h.app.nat.accounting, { tcp_close: 2, tcp_time_wait: 2 }, POLL_MS),
  } as unknown as ConstructorParameters<typeof StatsPoller>[0]);
  return { h, poller, readings: () => readings };
}

/** One request: a short connection to whichever VM rr picks, answered and closed both ways unless that VM is silent. */
function request(h: AppHarness, clientPort: number, silent: Set<VmName>): void {
  const port = delivered(h.send(fromClient(clientPort, { flags: SYN })).outcomes).port;
  const vm = (Object.keys(VMS) as VmName[]).find((name) => VMS[name].ofport === port)!;
  if (silent.has(vm)) return;
  h.send(fromBackend(vm, clientPort, { flags: SYN_ACK }), port);
  h.send(fromClient(clientPort, { flags: ACK }));
  h.send(fromClient(clientPort, { flags: FIN_ACK }));
  h.send(fromBackend(vm, clientPort, { flags: FIN_ACK }), port);
}

/** Requests every 100 ms for `ms`, a poll each POLL_MS. */
async function run(t: ReturnType<typeof setUp>, ms: number, silent: Set<VmName>, next: { port: number }): Promise<void> {
  for (let elapsed = 100; elapsed <= ms; elapsed += 100) {
    t.h.now += 100;
    request(t.h, next.port++, silent);
    if (t.h.now % POLL_MS === 0) await t.poller.poll();
  }
}

describe('a black-holing backend, conntrack mode with end copies (the listing spaced to a minute)', () => {
  it('is ejected within connect_timeout + two poll intervals of going silent; the listing stays spaced while all answer', async () => {
    const silent = new Set<VmName>();
    const t = setUp(silent);
    expect(listingSpacingLimit(t.h.app.serviceStates(), t.h.app.nat.accounting, {}, POLL_MS)).toBe(MAX_READING_SPACING_MS);
    const next = { port: 30_000 };
    t.h.now = 10_000;
    await run(t, 20_000, silent, next);
    // Every backend answering, the copies tell every success: the first poll's listing, then none (spaced 60 s).
    expect(t.readings()).toBe(1);
    const silencedAt = t.h.now;
    silent.add('v-vm2');
    await run(t, 10_000, silent, next);
    const ejected = t.h.events.find((e) => e.kind === 'outlier_ejected');
    expect(ejected).toMatchObject({ backend: 'v-vm2' });
    expect(ejected!.message).toMatch(/not established/);
    expect(ejected!.time - silencedAt).toBeLessThanOrEqual(CONNECT_TIMEOUT_MS + 2 * POLL_MS);
    // No more listings than it took: one more while vm2 stayed in.
    expect(t.readings()).toBe(2);
  });

  it('a backend whose connections outlast connect_timeout is judged at a listing too (a success), and not ejected', async () => {
    const t = setUp(new Set());
    t.h.now = 10_000;
    await t.poller.poll(); // the first listing
    // Three connections to each VM, established but not closed: no copy tells they worked.
    for (let p = 40_000; p < 40_009; p++) {
      const port = delivered(t.h.send(fromClient(p, { flags: SYN })).outcomes).port;
      const vm = (Object.keys(VMS) as VmName[]).find((name) => VMS[name].ofport === port)!;
      t.h.send(fromBackend(vm, p, { flags: SYN_ACK }), port);
      t.h.send(fromClient(p, { flags: ACK }));
    }
    for (let i = 0; i < 4; i++) {
      t.h.now += POLL_MS;
      await t.poller.poll();
    }
    expect(t.readings()).toBe(2); // one listing asked for, connect_timeout after they opened ...
    expect(t.h.events.filter((e) => e.kind === 'outlier_ejected')).toEqual([]); // ... and it showed them established
    for (let i = 0; i < 4; i++) {
      t.h.now += POLL_MS;
      await t.poller.poll();
    }
    expect(t.readings()).toBe(2); // judged: no more asked for
  });
});
