import { evaluateFailover, initialFailoverState, validateTierPolicy, type FailoverState, type TierBackendView, type TierPolicy } from '../../../src/health';

function view(backend: string, tier: number, health: TierBackendView['health'] = 'up', extra: Partial<TierBackendView> = {}): TierBackendView {
  return { backend, tier, health, draining: false, activeConns: 0, ...extra };
}

/** Runs evaluations in order, each with its own `now`, and returns the routing and event kinds after each. */
function sequence(policy: TierPolicy, steps: Array<[number, TierBackendView[]]>, start: FailoverState = initialFailoverState()) {
  let state = start;
  return steps.map(([now, backends]) => {
    const out = evaluateFailover(state, backends, policy, now);
    state = out.state;
    const r = state.routing;
    return { routing: r.kind === 'tier' ? `tier${r.tier}` : r.kind, events: out.events.map((e) => e.kind), reasons: out.events.map((e) => e.reason), tiersNeeded: out.tiersNeeded, state };
  });
}

const HOLD: TierPolicy = { holdMs: 10_000 };

describe('tier failover', () => {
  const primaryUp = [view('p1', 0), view('p2', 0), view('s1', 1)];
  const primaryDown = [view('p1', 0, 'down'), view('p2', 0, 'down'), view('s1', 1)];

  it('routes to the primary tier at start without reporting a failback', () => {
    const [r] = sequence(HOLD, [[0, primaryUp]]);
    expect(r.routing).toBe('tier0');
    expect(r.events).toEqual([]);
    expect(r.state.routing).toEqual({ kind: 'tier', tier: 0, backends: ['p1', 'p2'] });
  });

  it('at start, does not hand the service to a secondary whose check answered before the primary was judged', () => {
    const steps = sequence(HOLD, [
      [0, [view('p1', 0, 'unknown'), view('s1', 1, 'up')]], // secondary first: wait for the primary's verdict
      [100, [view('p1', 0, 'up'), view('s1', 1, 'up')]], // primary judged up: it serves at once, no hold
    ]);
    expect(steps.map((s) => s.routing)).toEqual(['refuse', 'tier0']);
    const [down] = sequence(HOLD, [[0, [view('p1', 0, 'down'), view('s1', 1, 'up')]]]); // primary judged down
    expect(down.routing).toBe('tier1');
  });

  it('says nothing while every backend is still unknown', () => {
    const [r] = sequence(HOLD, [[0, [view('p1', 0, 'unknown'), view('s1', 1, 'unknown')]]]);
    expect(r).toMatchObject({ routing: 'refuse', events: [] });
  });

  it('fails over at once when the primary tier is unavailable, and fails back only after the hold time', () => {
    const steps = sequence(HOLD, [
      [0, primaryUp],
      [1000, primaryDown],
      [2000, primaryUp], // primary eligible again from t=2000
      [11_999, primaryUp],
      [12_000, primaryUp],
    ]);
    expect(steps.map((s) => s.routing)).toEqual(['tier0', 'tier1', 'tier1', 'tier1', 'tier0']);
    expect(steps[1].events).toEqual(['failover']);
    expect(steps[1].reasons[0]).toBe('tier 0 unavailable: 0 of 2 backends healthy, quorum 1');
    expect(steps[4].events).toEqual(['failback']);
    expect(steps[4].reasons[0]).toBe('tier 0 recovered: 2 healthy, eligible for 10000 ms');
  });

  it('restarts the hold time when the recovering tier flaps', () => {
    const steps = sequence(HOLD, [
      [0, primaryUp],
      [1000, primaryDown],
      [2000, primaryUp],
      [9000, primaryDown],
      [10_000, primaryUp],
      [19_999, primaryUp],
      [20_000, primaryUp],
    ]);
    expect(steps.map((s) => s.routing)).toEqual(['tier0', 'tier1', 'tier1', 'tier1', 'tier1', 'tier1', 'tier0']);
  });

  it('fails back at once when the tier it failed over to is lost too', () => {
    const steps = sequence(HOLD, [
      [0, primaryUp],
      [1000, primaryDown],
      [2000, [view('p1', 0), view('p2', 0), view('s1', 1, 'down')]],
    ]);
    expect(steps.map((s) => s.routing)).toEqual(['tier0', 'tier1', 'tier0']);
  });

  it('honours the quorum: one healthy primary of two is not enough with quorum 2', () => {
    const steps = sequence({ ...HOLD, quorum: 2 }, [
      [0, primaryUp],
      [1000, [view('p1', 0), view('p2', 0, 'down'), view('s1', 1)]],
    ]);
    expect(steps.map((s) => s.routing)).toEqual(['tier0', 'tier1']);
    expect(steps[1].reasons[0]).toBe('tier 0 unavailable: 1 of 2 backends healthy, quorum 2');
  });

  it('does not count draining backends toward the quorum', () => {
    const [, r] = sequence(HOLD, [[0, primaryUp], [1, [view('p1', 0, 'up', { draining: true }), view('p2', 0, 'down'), view('s1', 1)]]]);
    expect(r.routing).toBe('tier1');
  });

  it('fails over on overload and back only below the low threshold held for the hold time', () => {
    const policy: TierPolicy = { holdMs: 5000, connsPerBackend: { high: 100, low: 50 } };
    const load = (n: number) => [view('p1', 0, 'up', { activeConns: n }), view('s1', 1)];
    const steps = sequence(policy, [
      [0, load(80)],
      [1000, load(150)], // overloaded
      [2000, load(70)], // below high, above low: still overloaded
      [3000, load(40)], // recovered, hold starts
      [7999, load(45)],
      [8000, load(45)],
    ]);
    expect(steps.map((s) => s.routing)).toEqual(['tier0', 'tier1', 'tier1', 'tier1', 'tier1', 'tier0']);
    expect(steps[1].reasons[0]).toBe('tier 0 overloaded: 150 active connections per backend > 100');
  });

  it('treats a queue measure over its threshold as overload', () => {
    const policy: TierPolicy = { holdMs: 0, queueMeasure: { high: 2, low: 1 } };
    const steps = sequence(policy, [
      [0, [view('p1', 0, 'up', { queueMeasure: 0.5 }), view('s1', 1)]],
      [1, [view('p1', 0, 'up', { queueMeasure: 3 }), view('s1', 1)]],
      [2, [view('p1', 0, 'up', { queueMeasure: 0.9 }), view('s1', 1)]],
    ]);
    expect(steps.map((s) => s.routing)).toEqual(['tier0', 'tier1', 'tier0']);
    expect(steps[1].reasons[0]).toBe('tier 0 overloaded: queue measure 3 > 2');
  });

  it('treats rising drops as overload until they stop rising', () => {
    const policy: TierPolicy = { holdMs: 0, dropsRising: 10 };
    const drops = (d: number) => [view('p1', 0, 'up', { drops: d }), view('s1', 1)];
    const steps = sequence(policy, [[0, drops(100)], [1, drops(105)], [2, drops(200)], [3, drops(201)], [4, drops(201)]]);
    expect(steps.map((s) => s.routing)).toEqual(['tier0', 'tier0', 'tier1', 'tier1', 'tier0']);
  });

  it('keeps the last available tier when every tier is overloaded', () => {
    const policy: TierPolicy = { holdMs: 0, connsPerBackend: { high: 10, low: 5 } };
    const [, r] = sequence(policy, [[0, primaryUp], [1, [view('p1', 0, 'up', { activeConns: 20 }), view('s1', 1, 'up', { activeConns: 20 })]]]);
    expect(r.routing).toBe('tier1');
    expect(r.reasons[0]).toMatch(/^all tiers overloaded; tier 0 overloaded/);
  });

  it('uses the sorry backend when nothing is healthy, loudly, and refuses without one', () => {
    const allDown = [view('p1', 0, 'down'), view('s1', 1, 'down')];
    const [, sorry] = sequence({ ...HOLD, sorryBackend: 'sorry1' }, [[0, primaryUp], [1, allDown]]);
    expect(sorry.state.routing).toEqual({ kind: 'sorry', backend: 'sorry1' });
    expect(sorry.events).toEqual(['nothing_healthy']);
    const [, refuse] = sequence(HOLD, [[0, primaryUp], [1, allDown]]);
    expect(refuse.routing).toBe('refuse');
    expect(refuse.reasons[0]).toMatch(/tier 1 unavailable.*; refusing new connections$/);
  });

  it('names the unavailable tiers that new connections need, for the launcher', () => {
    const absentSecondary = [view('p1', 0, 'down'), view('s1', 1, 'down'), view('t1', 2)];
    const [r] = sequence(HOLD, [[0, absentSecondary]]);
    expect(r.tiersNeeded).toEqual([0, 1]);
    const [ok] = sequence(HOLD, [[0, primaryUp]]);
    expect(ok.tiersNeeded).toEqual([]);
  });

  it('rejects a policy whose thresholds cannot work', () => {
    expect(() => validateTierPolicy({ holdMs: 0, connsPerBackend: { high: 10, low: 11 } })).toThrow(/low <= high/);
    expect(() => validateTierPolicy({ holdMs: 0, quorum: 0 })).toThrow(/quorum/);
  });
});
