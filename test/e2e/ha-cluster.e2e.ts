// Controller HA of a cluster host (issue 14) on real Open vSwitch and a real 3-member Raft cluster of
// ovsdb-server: two `vadc start` processes for one bridge, their config with a `cluster:` section, so the pair
// elects through the store's OVSDB lock and its Controller_Pair row. kill -9 of the master: the standby is told
// "locked" by the leader and takes over; kill -9 of the Raft leader member: the lock is lost with it, and the pair
// keeps one master (no new connection fails). Figures are printed, not asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Lab, storeClusterDown } from '../../src/lab';
import { VadcClient } from '../../src/api/client';
import { gapFigures, sleep, startPair, traffic, waitFor, type Instance, type Pair } from '../helpers/ha-pair';
import { killStoreLeader, vadcOk } from '../helpers/vadc-cli';

let lab: Lab;
let pair: Pair;
let tmp: string;
let storeDir: string;
let remotes: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'vadc-ha-cluster-'));
  storeDir = path.join(tmp, 'store');
  lab = await Lab.up({ name: 'hac', vms: 2, clients: 1, waitForHostMs: 600_000 });
  remotes = (JSON.parse(await vadcOk(['cluster', 'up', '--members', '3', '--dir', storeDir, '--name', 'e2e', '--json'])) as { remotes: string }).remotes;
  // Each instance its own controller.ha.dir, as on two machines: they share only the store. takeover_after 3 s, as
  // docs/operators/run-a-pair.md advises for a host that runs hot: at the default 500 ms a loaded 2-core host (3 Raft
  // members, 2 daemons, OVS) delays heartbeats past the limit and the standby steals, so the election moves in the
  // middle of a test (seen at load ~11-13: a restarted `a` master at generation 3 instead of b's standby; the
  // standby not taking a weight within 10 s). These tests are about the lock passing on a kill and a leader change,
  // which does not wait for takeover_after; the steal of a hung master is cluster-election.test.ts's.
  pair = await startPair(lab, { extraYaml: `cluster: { remotes: "${remotes}", host: h1 }`, ownHaDirs: true, takeoverAfterMs: 3000 });
}, 660_000);

afterAll(async () => {
  await pair?.close();
  if (storeDir) await storeClusterDown(storeDir).catch(() => undefined);
  await lab?.down();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 120_000);

/** The instance's role at the (one) switch, from its API directly (a CLI run per poll takes a second on a loaded machine). */
async function roleOf(i: Instance): Promise<string | undefined> {
  try {
    return (await new VadcClient({ endpoint: `unix:${i.socket}`, timeoutMs: 5000 }).status()).switches[0]?.role;
  } catch {
    return undefined;
  }
}

/** What the two elections logged (promotions, steals, fencing, the lock and the store's connection): said when a wait fails. */
function electionStory(): string {
  const lines = (i: Instance) => i.log.split('\n').filter((l) => /election|promot|fenced|lock|store/i.test(l)).slice(-15).map((l) => `  ${i.name}: ${l}`);
  return `\n${[...lines(pair.a), ...lines(pair.b)].join('\n')}`;
}

/** Polls both instances' roles at the switch until one is master and the other slave; returns when that was. */
async function oneMasterOneSlave(limitMs: number, what: string): Promise<number> {
  await waitFor(async () => {
    const roles = [await roleOf(pair.a), await roleOf(pair.b)].sort();
    return roles[0] === 'master' && roles[1] === 'slave';
  }, limitMs, what);
  return Date.now();
}

describe('a pair on a cluster host elects through the store (real OVS, real Raft cluster)', () => {
  it('one master, the other a hot standby that names it; the election is the store\'s', async () => {
    // startPair names them by role; the generation is 1 unless the election moved while they started (loaded host).
    const g = String(pair.generation);
    const [sa, sb] = [await pair.a.status(), await pair.b.status()];
    expect(sa.ha).toMatchObject({ election: 'cluster', where: `cluster store ${remotes}`, role: 'master', generation: g });
    expect((await pair.b.cli(['status'])).stdout).toContain(`HA: STANDBY, generation ${g}, peer ${sa.ha!.instance}`);
    expect(sb.ha).toMatchObject({ role: 'standby', generation: g, peer: sa.ha!.instance });
    await waitFor(async () => (await pair.a.status()).ha?.peer === sb.ha!.instance, 10_000, 'a to see its standby in the store');
    expect(sa.switches[0]).toMatchObject({ role: 'master', generation: g });
    expect(sb.switches[0]).toMatchObject({ role: 'slave', generation: g });
    const promoted = (await pair.a.events()).find((e) => e.kind === 'promoted' && e.message.includes(`generation ${g})`));
    expect(promoted?.message).toMatch(g === '1' ? /generation 1\): no master yet/ : new RegExp(`generation ${g}\\): `));
  });

  it("a drain and a weight made on the master through the CLI reach the standby (the publication in the pair's store row)", async () => {
    const backend = (await pair.a.status()).services[0].backends[1].id;
    expect((await pair.a.cli(['backend', 'weight', 'web', backend, '3'])).code).toBe(0);
    await waitFor(async () => (await pair.b.status()).services[0].backends.find((b) => b.id === backend)?.weight === 3, 10_000, 'the standby to take the weight', { detail: electionStory });
    expect((await pair.b.events()).some((e) => e.kind === 'pair_config_adopted')).toBe(true);
    expect((await pair.a.cli(['backend', 'drain', 'web', backend])).code).toBe(0);
    const healthOnB = async () => (await pair.b.status()).services[0].backends.find((b) => b.id === backend)?.health;
    await waitFor(async () => ['draining', 'drained'].includes(String(await healthOnB())), 10_000, 'the standby to drain it too');
    expect((await pair.a.cli(['backend', 'enable', 'web', backend])).code).toBe(0);
    await waitFor(async () => !['draining', 'drained'].includes(String(await healthOnB())), 10_000, 'the standby to enable it again');
  });

  it('kill -9 of the master: the standby gets the lock and takes over; held connections survive', async () => {
    const run = traffic(lab, 'cl1', { held: 50, everyMs: 10, seconds: 4 });
    await run.ready;
    await sleep(1000);
    const killedAt = Date.now();
    await pair.a.stop('SIGKILL');
    await waitFor(async () => (await roleOf(pair.b)) === 'master', 15_000, 'b to be master at the switch');
    const report = await run.done;
    const gap = gapFigures(report, killedAt);
    const events = await pair.b.events();
    const promoted = events.find((e) => e.kind === 'promoted' && e.time >= killedAt);
    const granted = events.find((e) => e.kind === 'switch_role' && e.time >= killedAt && e.data?.role === 'master');
    console.log(`[ha-cluster] kill -9: b promoted ${promoted!.time - killedAt} ms and MASTER at the switch ${granted!.time - killedAt} ms after the kill (its events); new connections served again ${gap.servedAgainMs} ms after; ${gap.failedAfter} failed; worst in the gap ${gap.worstInGapMs} ms; held lost ${report.heldLost}/${report.held}`);
    expect(report.heldLost).toBe(0);
    expect(report.attempts.filter(([t0]) => t0 >= killedAt + 1500).length).toBeGreaterThan(0);
    expect(gap.failedLate).toBe(0);
    const sb = await pair.b.status();
    const g = String(pair.generation + 1n);
    expect(sb.ha).toMatchObject({ role: 'master', generation: g });
    expect(sb.switches[0]).toMatchObject({ role: 'master', generation: g });
    expect(promoted?.message).toMatch(new RegExp(`generation ${g}\\): the lock passed from `));
  });

  it('kill -9 of the Raft leader member: the pair keeps one master and new connections are served', async () => {
    await pair.a.start(); // a comes back as b's standby
    await oneMasterOneSlave(20_000, 'a slave, b master');
    const haA = (await pair.a.status()).ha;
    expect({ role: haA?.role, generation: haA?.generation, ...(haA?.role === 'standby' ? {} : { story: electionStory() }) }).toEqual({ role: 'standby', generation: String(pair.generation + 1n) });
    const run = traffic(lab, 'cl1', { held: 20, everyMs: 20, seconds: 8 });
    await run.ready;
    await sleep(500);
    const leader = await killStoreLeader(storeDir, remotes);
    // Both sessions lose the lock with the leader and ask the next one; meanwhile the master stays master.
    const masters: string[] = [];
    const watch = (async () => {
      const end = Date.now() + 6000;
      while (Date.now() < end) {
        masters.push([await roleOf(pair.a), await roleOf(pair.b)].map((r) => (r === 'master' ? 'M' : r === 'slave' ? 's' : '?')).join(''));
        await sleep(100);
      }
    })();
    const report = await run.done;
    await watch;
    const gap = gapFigures(report, leader.at);
    const changes = [...(await pair.a.events()).map((e) => ({ ...e, who: 'a' })), ...(await pair.b.events()).map((e) => ({ ...e, who: 'b' }))]
      .filter((e) => e.time >= leader.at && ['promoted', 'fenced', 'switch_role', 'demoted'].includes(e.kind)).sort((x, y) => x.time - y.time)
      .map((e) => `${e.who}:${e.kind}@${e.time - leader.at}ms`);
    console.log(`[ha-cluster] Raft leader s${leader.n} killed: election changes after it: ${changes.join(', ') || 'none'}; roles at the switch (a,b) sampled ${masters.length} times: ${[...new Set(masters)].join(' ')}; new connections: ${gap.failedAfter} failed after the kill, worst ${gap.worstInGapMs} ms; held lost ${report.heldLost}/${report.held}`);
    expect(report.heldLost).toBe(0);
    expect(gap.failedLate).toBe(0);
    expect(masters.filter((m) => m === 'MM')).toEqual([]);
    await oneMasterOneSlave(30_000, 'one master and one slave after the new leader is elected');
    const [sa, sb] = [await pair.a.status(), await pair.b.status()];
    const master = [sa, sb].find((s) => s.ha?.role === 'master')!;
    const standby = [sa, sb].find((s) => s.ha?.role === 'standby')!;
    expect(master.switches[0].role).toBe('master');
    expect(standby.ha!.generation).toBe(master.ha!.generation);
    expect(BigInt(master.ha!.generation)).toBeGreaterThanOrEqual(pair.generation + 1n);
  });
});
