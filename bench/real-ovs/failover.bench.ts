// Controller failover on real Open vSwitch: the gap new connections see when the master dies (kill -9) or hangs
// (SIGSTOP for 5 s), with a hot standby, beside a lone instance killed and restarted at once (no standby).
// A client holds connections and opens a new one every 10 ms throughout. Root; not a test; prints figures.
//   node -r ts-node/register/transpile-only bench/real-ovs/failover.bench.ts [--runs 3] [--held 100] [--json]
//     [--scenarios kill,stop,restart] (which failures to run: kill -9 and SIGSTOP with a hot standby, the lone restart)
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/table';
import { Lab } from '../../src/lab';
import { gapFigures, roleOf, sleep, startPair, traffic, waitFor, type GapFigures, type Instance, type Pair } from '../../test/helpers/ha-pair';
import { medianSpread } from '../lib/realovs-stats';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    held: { type: 'string', default: '100' },
    'wait-ms': { type: 'string', default: '600000' },
    json: { type: 'boolean', default: false },
    scenarios: { type: 'string', default: 'kill,stop,restart' },
  },
});
const SCENARIOS = ['kill', 'stop', 'restart'] as const;
const chosen = new Set(values.scenarios.split(',').map((x) => x.trim()));
for (const x of chosen) {
  if (!(SCENARIOS as readonly string[]).includes(x)) {
    process.stderr.write(`--scenarios: unknown scenario "${x}"; expected a comma-separated list of ${SCENARIOS.join(', ')}\n`);
    process.exit(2);
  }
}

/**
 * Issue 14's targets, each scenario its own: kill -9, new connections served again within 0.5 s, judged by both the
 * time to the first served attempt and the worst connect time of the attempts made inside the gap; SIGSTOP, the
 * standby took over within 1 s (both measures under 1 s). The lone instance is held to the kill -9 target.
 */
const TARGETS: Record<string, { servedMs: number; worstMs: number }> = {
  'kill -9 (hot standby)': { servedMs: 500, worstMs: 500 },
  'SIGSTOP 5 s (hot standby)': { servedMs: 1000, worstMs: 1000 },
  'kill -9 + restart (no standby)': { servedMs: 500, worstMs: 500 },
};
const log = (line: string) => process.stderr.write(`${line}\n`);

/** What the instance that became master said of it: when (ms after the failure) and why, and its takeover replay. */
interface Takeover {
  promotedMs?: number;
  reason?: string;
  /** afterMasterMs: from the switch's MASTER grant to the replay (the restore's reading in between). */
  replay?: { replayed: number; ends: number; known: number; tooOld: number; dropped?: number; afterMasterMs: number };
  /** ms after the failure: the switch's MASTER grant (switch_role), and the restore's reading applied (connections_restored). */
  masterMs?: number;
  restoredMs?: number;
  /** How many connections that reading re-tracked (the restore's work grows with them). */
  restored?: number;
  /** The restore's failed readings (restore_failed), each with when (ms after the failure): a retry waits 1 s. */
  restoreFailed?: string[];
}

interface Round extends GapFigures, Takeover { heldLost: number; held: number }

async function takeoverOf(next: Instance, at: number): Promise<Takeover> {
  try {
    const events = await next.events();
    const promoted = events.find((e) => e.kind === 'promoted' && e.time >= at);
    const replay = events.find((e) => e.kind === 'takeover_replay' && e.time >= at)?.data as Takeover['replay'] | undefined;
    const master = events.find((e) => e.kind === 'switch_role' && e.time >= at && e.data?.role === 'master');
    const restored = events.find((e) => e.kind === 'connections_restored' && e.time >= at);
    const failed = events.filter((e) => e.kind === 'restore_failed' && e.time >= at).map((e) => `+${e.time - at} ms: ${e.message}`);
    return {
      ...(promoted ? { promotedMs: promoted.time - at, reason: promoted.message.replace(/^[^:]*: /, '') } : {}),
      ...(master ? { masterMs: master.time - at } : {}),
      ...(restored ? { restoredMs: restored.time - at, restored: Number(restored.data?.restored) } : {}),
      ...(failed.length ? { restoreFailed: failed } : {}),
      ...(replay ? { replay: { replayed: replay.replayed, ends: replay.ends, known: replay.known, tooOld: replay.tooOld, dropped: replay.dropped, afterMasterMs: replay.afterMasterMs } } : {}),
    };
  } catch {
    return {};
  }
}

async function master(pair: Pair): Promise<{ master: Instance; standby: Instance }> {
  const a = await roleOf(pair.a);
  return a === 'master' ? { master: pair.a, standby: pair.b } : { master: pair.b, standby: pair.a };
}

/**
 * One failure during traffic; `fail` does it and `recover` brings the pair back to one master and one slave. `next`:
 * the instance expected to be master after it (its events tell when and why, and what it replayed).
 */
async function round(lab: Lab, held: number, next: Instance, fail: () => Promise<void>, recover: () => Promise<void>): Promise<Round> {
  const run = traffic(lab, 'cl1', { held, everyMs: 10, seconds: 7 });
  await run.ready;
  await sleep(1000);
  const at = Date.now();
  await fail();
  const report = await run.done;
  const takeover = await takeoverOf(next, at);
  await recover();
  const figures = { ...gapFigures(report, at), heldLost: report.heldLost, held: report.held, ...takeover };
  log(`  ${new Date(at).toISOString()}: ${JSON.stringify(figures)}`); // each run's figures, as they come
  return figures;
}

async function bothUp(pair: Pair): Promise<void> {
  await waitFor(async () => {
    const roles = [await roleOf(pair.a), await roleOf(pair.b)].sort();
    return roles[0] === 'master' && roles[1] === 'slave';
  }, 30_000, 'one master and one slave');
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const held = Number(values.held);
  const lab = await Lab.up({ name: 'hab', vms: 2, clients: 1, waitForHostMs: Number(values['wait-ms']) });
  let pair: Pair | undefined;
  const results: Record<string, Round[]> = { 'kill -9 (hot standby)': [], 'SIGSTOP 5 s (hot standby)': [], 'kill -9 + restart (no standby)': [] };
  try {
    pair = await startPair(lab);
    const p = pair;
    for (let i = 0; i < runs; i++) {
      if (chosen.has('kill')) {
        const roles = await master(p);
        log(`run ${i + 1}: kill -9 of ${roles.master.name}`);
        results['kill -9 (hot standby)'].push(await round(lab, held, roles.standby, () => roles.master.stop('SIGKILL'), async () => {
          await roles.master.start();
          await bothUp(p);
        }));
      }
      if (chosen.has('stop')) {
        const roles = await master(p);
        log(`run ${i + 1}: SIGSTOP of ${roles.master.name} for 5 s`);
        results['SIGSTOP 5 s (hot standby)'].push(await round(lab, held, roles.standby, async () => {
          roles.master.signal('SIGSTOP');
          setTimeout(() => roles.master.signal('SIGCONT'), 5000);
        }, async () => {
          await sleep(500);
          await bothUp(p);
        }));
      }
    }
    // Today's baseline: one instance, killed and restarted at once (a supervisor's Restart=always).
    if (chosen.has('restart')) {
      const roles = await master(p);
      await roles.standby.stop('SIGTERM');
      for (let i = 0; i < runs; i++) {
        log(`run ${i + 1}: kill -9 and restart of a lone ${roles.master.name}`);
        results['kill -9 + restart (no standby)'].push(await round(lab, held, roles.master, async () => {
          await roles.master.stop('SIGKILL');
          // Caught: a start still waiting for the control socket when the pair closes must not end the bench unprinted.
          void roles.master.start().catch(() => undefined);
        }, () => waitFor(async () => (await roleOf(roles.master)) === 'master', 30_000, 'the restarted instance')));
      }
    }
  } finally {
    await pair?.close();
    await lab.down();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs, held, results }, null, 2)}\n`);
    return;
  }
  const ms = (xs: number[]) => {
    if (xs.some((x) => !Number.isFinite(x))) return `${xs.map((x) => (Number.isFinite(x) ? x : 'never')).join(' / ')}`;
    const v = medianSpread(xs);
    return `${v.median.toFixed(0)} (${v.min.toFixed(0)}-${v.max.toFixed(0)})`;
  };
  const rows = Object.entries(results).filter(([, rs]) => rs.length > 0).map(([scenario, rs]) => {
    const t = TARGETS[scenario];
    const met = rs.filter((r) => r.servedAgainMs < t.servedMs && r.worstInGapMs < t.worstMs).length;
    return {
      scenario,
      served: ms(rs.map((r) => r.servedAgainMs)),
      worst: ms(rs.map((r) => r.worstInGapMs)),
      promoted: rs.map((r) => r.promotedMs ?? '-').join(' / '),
      replay: rs.map((r) => (r.replay ? `${r.replay.replayed}/${r.replay.ends}/${r.replay.known}/${r.replay.tooOld}/${r.replay.dropped ?? 0} +${r.replay.afterMasterMs}` : '-')).join(' / '),
      failed: rs.map((r) => r.failedAfter).join(' / '),
      lost: rs.map((r) => `${r.heldLost}/${r.held}`).join(' / '),
      target: `served < ${t.servedMs} and worst < ${t.worstMs} ms: ${met === rs.length ? 'met' : 'NOT met'} (${met} of ${rs.length})`,
    };
  });
  process.stdout.write(`${formatTable(rows, [
    { header: 'FAILURE', get: 'scenario' },
    { header: 'NEW CONNS SERVED AGAIN AFTER, ms median (min-max)', get: 'served' },
    { header: 'WORST CONNECT IN THE GAP, ms', get: 'worst' },
    { header: 'PROMOTED AFTER, ms per run', get: 'promoted' },
    { header: 'REPLAYED/END COPIES/KNOWN/TOO OLD/DROPPED +ms after MASTER, per run', get: 'replay' },
    { header: 'FAILED NEW CONNS per run', get: 'failed' },
    { header: 'HELD LOST per run', get: 'lost' },
    { header: 'TARGET', get: 'target' },
  ])}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
