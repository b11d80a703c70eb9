// Controller HA on real Open vSwitch (issue 14): two `vadc start` processes for one bridge, the bridge pointed at
// both. kill -9 of the master and a hung master (SIGSTOP): the standby takes over, held connections survive, new
// connections are served again, and a master that wakes up is fenced. The gap figures are the bench's
// (npm run bench:failover); here they are printed, not asserted. A service added on the master through the CLI
// reaches the standby, which serves it after a takeover.
import { Lab } from '../../src/lab';
import { gapFigures, replayAfter, roleOf, sleep, startPair, traffic, vipOf, waitFor, type Pair } from '../helpers/ha-pair';

let lab: Lab;
let pair: Pair;

beforeAll(async () => {
  lab = await Lab.up({ name: 'ha', vms: 2, clients: 1, waitForHostMs: 600_000 });
  pair = await startPair(lab);
}, 660_000);

afterAll(async () => {
  await pair?.close();
  await lab?.down();
}, 60_000);

/**
 * vadc's flows that do not belong to one connection (cookie 0xadc0..., connection id 0), without their counters and
 * ages, sorted: what the configuration alone decides, so two readings compare whatever traffic ran in between.
 */
async function configFlows(): Promise<string[]> {
  return (await lab.ofctl('dump-flows')).split('\n')
    .filter((l) => /cookie=0xadc0[0-9a-f]{5}0{7},/.test(l))
    .map((l) => l.trim().replace(/\b(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s*/g, ''))
    .sort();
}

describe('a pair of vadc instances on one bridge', () => {
  it('status names each one\'s role, generation and peer', async () => {
    // startPair names them by role; the generation is 1 unless the election moved while they started (loaded host).
    const g = String(pair.generation);
    const [sa, sb] = [await pair.a.status(), await pair.b.status()];
    expect(sa.ha).toMatchObject({ role: 'master', generation: g, peer: sb.ha!.instance });
    expect(sb.ha).toMatchObject({ role: 'standby', generation: g, peer: sa.ha!.instance });
    expect(sa.switches[0]).toMatchObject({ role: 'master', generation: g });
    expect(sb.switches[0]).toMatchObject({ role: 'slave', generation: g });
    // the standby is hot: it knows where the backends are
    expect(sb.services[0].backends.map((b) => b.ofport)).toEqual(sa.services[0].backends.map((b) => b.ofport));
    const text = (await pair.b.cli(['status'])).stdout;
    expect(text).toContain(`HA: STANDBY, generation ${g}, peer ${sa.ha!.instance}`);
  });

  it("the standby is hot: a backend's link going down and up reaches its verdicts as it reaches the master's", async () => {
    const vm2 = lab.host('vm2');
    const healthOf = async (i: typeof pair.a) => (await i.status()).services[0].backends.find((b) => b.id === vm2.port)?.health;
    const ofportOf = async (i: typeof pair.a) => (await i.status()).services[0].backends.find((b) => b.id === vm2.port)?.ofport;
    expect([await healthOf(pair.a), await healthOf(pair.b)]).toEqual(['up', 'up']);
    const ofport = await ofportOf(pair.a);
    expect(ofport).toBeDefined();
    await lab.setLinkUp('vm2', false);
    try {
      // The switch's port status reaches the standby too (SET_ASYNC), and its health follows the link, as the master's.
      await waitFor(async () => (await healthOf(pair.b)) === 'down' && (await healthOf(pair.a)) === 'down', 20_000, "vm2 down on both instances");
    } finally {
      await lab.setLinkUp('vm2', true);
    }
    await waitFor(async () => (await healthOf(pair.b)) === 'up' && (await healthOf(pair.a)) === 'up', 20_000, "vm2 up again on both instances");
    expect(await ofportOf(pair.b)).toBe(ofport);
    // It decided nothing of it: still the standby and a slave at the switch.
    const sb = await pair.b.status();
    expect([sb.ha?.role, sb.switches[0].role]).toEqual(['standby', 'slave']);
  });

  it('kill -9 of the master: the standby takes over, held connections survive, new ones are served again', async () => {
    const run = traffic(lab, 'cl1', { held: 100, everyMs: 10, seconds: 4 });
    await run.ready;
    await sleep(1000);
    const killedAt = Date.now();
    await pair.a.stop('SIGKILL');
    const report = await run.done;
    const gap = gapFigures(report, killedAt);
    console.log(`kill -9: new connections served again ${gap.servedAgainMs} ms after the kill; ${gap.failedAfter} failed; worst in the gap ${gap.worstInGapMs} ms; held lost ${report.heldLost}/${report.held}`);
    expect(report.heldLost).toBe(0);
    expect(report.heldRequests).toBeGreaterThan(report.held * 10);
    // Served by the new master: attempts from 1.5 s after the kill on, and none failed. (How fast is the bench's
    // figure: on a loaded machine even served attempts can take over the 300 ms the 'served again' measure wants.)
    expect(report.attempts.filter(([t0]) => t0 >= killedAt + 1500).length).toBeGreaterThan(0);
    expect(gap.failedLate).toBe(0);
    const sb = await pair.b.status();
    const g = pair.generation + 1n;
    expect(sb.ha).toMatchObject({ role: 'master', generation: String(g) });
    expect(sb.switches[0].role).toBe('master');
    const events = await pair.b.events();
    // The new master re-tracked the connections the old master placed (read back from the datapath on promotion, not
    // wiped), the 100 held ones among them, so least-connection goes on from the real counts.
    const restored = events.find((e) => e.kind === 'connections_restored' && e.time >= killedAt);
    console.log(`kill -9: the new master ${restored?.message}`);
    expect(Number(restored?.data?.restored)).toBeGreaterThanOrEqual(report.held);
    // The lock tells of the death at once; on a loaded machine the flock child can be slower to say so than the
    // 500 ms heartbeat limit (seen at load 14): either way the dead master is replaced. The lock path alone is
    // checked in test/unit/daemon/host-election.test.ts with a 2 s limit.
    expect(events.find((e) => e.kind === 'promoted' && e.time >= killedAt)?.message).toMatch(new RegExp(`generation ${g}\\): the master \\S+ (died|has not beaten for \\d+ ms)`));
    // The SYNs that reached the switch in the gap went to the dead master and to the standby, which held them and,
    // once master, replayed them: those attempts were answered by its decision, not by the client's retransmission.
    const replay = await replayAfter(pair.b, report, killedAt);
    console.log(`kill -9 replay: ${JSON.stringify(replay)}`);
    expect(replay.replayed).toBeGreaterThan(0);
    expect(replay.answeredFromReplay).toBeGreaterThan(0);
  });

  it('SIGSTOP of the master: the standby takes over; the master that wakes is fenced and stands by', async () => {
    // a comes back as the standby of b
    await pair.a.start();
    await waitFor(async () => (await roleOf(pair.a)) === 'slave', 20_000, 'a to be slave');
    const run = traffic(lab, 'cl1', { held: 20, everyMs: 10, seconds: 7 });
    await run.ready;
    await sleep(500);
    const stoppedAt = Date.now();
    pair.b.signal('SIGSTOP');
    await waitFor(async () => (await roleOf(pair.a)) === 'master', 10_000, 'a to take over');
    await sleep(Math.max(0, stoppedAt + 5000 - Date.now()));
    pair.b.signal('SIGCONT');
    const report = await run.done;
    const gap = gapFigures(report, stoppedAt);
    console.log(`SIGSTOP: new connections served again ${gap.servedAgainMs} ms after the stop; ${gap.failedAfter} failed; worst in the gap ${gap.worstInGapMs} ms; held lost ${report.heldLost}/${report.held}`);
    expect(report.heldLost).toBe(0);
    expect(gap.failedLate).toBe(0);
    // The paused master never answered the gap's SYNs; the standby held them and replayed them as master.
    const replay = await replayAfter(pair.a, report, stoppedAt);
    console.log(`SIGSTOP replay: ${JSON.stringify(replay)}`);
    expect(replay.replayed).toBeGreaterThan(0);
    expect(replay.answeredFromReplay).toBeGreaterThan(0);
    await waitFor(async () => (await pair.b.status()).ha?.role === 'standby', 10_000, 'b to stand by');
    const [sa, sb] = [await pair.a.status(), await pair.b.status()];
    const g = String(pair.generation + 2n);
    expect(sa.ha).toMatchObject({ role: 'master', generation: g });
    expect(sb.ha).toMatchObject({ role: 'standby', generation: g });
    await waitFor(async () => ['slave', 'fenced'].includes((await roleOf(pair.b)) ?? ''), 10_000, 'b to be slave at the switch');
    const kinds = (await pair.b.events()).map((e) => e.kind);
    expect(kinds).toContain('fenced');
    // b wrote nothing after waking: a write would have been refused (OFPBRC_IS_SLAVE, reported as demoted) or failed
    const refused = (await pair.b.events()).filter((e) => e.time > stoppedAt && (e.kind === 'switch_error' || /IS_SLAVE/.test(e.message)));
    expect(refused).toEqual([]);
  });

  it('ovs-vswitchd restart (it forgets the generation): one master again, the same flows, new connections served', async () => {
    const before = [await pair.a.status(), await pair.b.status()];
    const masterBefore = before.find((s) => s.ha?.role === 'master')!.ha!.instance;
    // The flows the master installs for its configuration (not those of one connection, which come and go with traffic).
    const flowsBefore = await configFlows();
    expect(flowsBefore.length).toBeGreaterThan(5);
    const restartedAt = Date.now();
    await lab.restartVswitchd();
    const vswitchdBackMs = Date.now() - restartedAt;
    await waitFor(async () => {
      const roles = [await roleOf(pair.a), await roleOf(pair.b)].sort();
      return roles[0] === 'master' && roles[1] === 'slave';
    }, 30_000, 'one master and one slave after the restart');
    const masterAgainMs = Date.now() - restartedAt;
    const after = [await pair.a.status(), await pair.b.status()];
    expect(after.find((s) => s.switches[0]?.role === 'master')!.ha!.instance).toBe(masterBefore);
    // ovs-vswitchd kept no flow (they live in the process): the master installed the same ones again.
    let flowsAfter: string[] = [];
    await waitFor(async () => {
      flowsAfter = await configFlows();
      return flowsAfter.length >= flowsBefore.length;
    }, 20_000, "the master's flows back after the restart");
    const flowsBackMs = Date.now() - restartedAt;
    expect(flowsAfter).toEqual(flowsBefore);
    // When, by the master's own events (the polls above add a CLI call each): the switch back, MASTER granted again.
    const master = after.find((s) => s.switches[0]?.role === 'master')!.ha!.instance === (await pair.a.status()).ha!.instance ? pair.a : pair.b;
    const since = (await master.events()).filter((e) => e.time >= restartedAt);
    const at = (kind: string, role?: string) => {
      const e = since.find((x) => x.kind === kind && (role === undefined || x.data?.role === role));
      return e ? `${e.time - restartedAt} ms` : 'not seen';
    };
    console.log(`ovs-vswitchd restart: ovs-vswitchd up again ${vswitchdBackMs} ms after the restart began; the master's switch_up ${at('switch_up')}, MASTER granted ${at('switch_role', 'master')}; `
      + `seen polled: one master and one slave (the same master) by ${masterAgainMs} ms, its ${flowsAfter.length} configuration flows equal to before by ${flowsBackMs} ms`);
    const run = traffic(lab, 'cl1', { held: 5, everyMs: 50, seconds: 1 });
    const report = await run.done;
    expect(report.attempts.length).toBeGreaterThan(5);
    expect(report.attempts.filter(([, , ok]) => !ok)).toEqual([]);
  });

  it('a service added on the master through the CLI reaches the standby, and the standby serves it after a kill -9 of the master', async () => {
    const [sa, sb] = [await pair.a.status(), await pair.b.status()];
    const [master, standby] = sa.ha?.role === 'master' ? [pair.a, pair.b] : [pair.b, pair.a];
    expect([sa.ha?.role, sb.ha?.role].sort()).toEqual(['master', 'standby']);
    const vm2 = lab.host('vm2');
    const added = await master.cli(['service', 'add', 'web81', '--vip', vipOf(lab), '--port', '81', '--backend', `${vm2.port}=${vm2.ip}:8080`]);
    expect(added.code).toBe(0);
    await waitFor(async () => (await standby.status()).services.some((s) => s.name === 'web81'), 10_000, 'the standby to adopt web81');
    expect((await standby.events()).find((e) => e.kind === 'pair_config_adopted')?.message).toContain('adopted the configuration the master');
    await master.stop('SIGKILL');
    await waitFor(async () => (await roleOf(standby)) === 'master', 20_000, 'the standby to take over');
    await waitFor(async () => {
      try {
        return (await lab.httpGet('cl1', `http://${vipOf(lab)}:81/`, 2000)).body === 'vm2 8080\n';
      } catch {
        return false;
      }
    }, 20_000, 'web81 served by the new master');
    await master.start(); // back as the standby, for afterAll's orderly stop
  });
});
