// The relocate hook: a corrective action for a backend that stays overloaded, with the launch hook's safety
// rules. The pure machine, then the monitor that runs it.
import { parseConfig } from '../../../src/config';
import {
  healthOptionsFromConfig, newRelocateJob, overloadVerdict, ServiceHealthMonitor, stepRelocate, validateRelocatePolicy,
  type CheckScheduler, type HookContext, type HookResult, type MonitoredBackend, type RelocateInput, type RelocateJob, type RelocatePolicy,
} from '../../../src/health';
import type { VadcEvent } from '../../../src/runtime/types';

const POLICY: RelocatePolicy = { overloadedForMs: 10_000, maxAttempts: 2, backoffBaseMs: 1000, backoffMaxMs: 1000, rearmMs: 60_000, maxConcurrent: 1 };
const OPEN = { mayStart: true };
const hot = { kind: 'load', overloaded: true, why: '12 connections > 10' } as const;
const cool = { kind: 'load', overloaded: false, why: '3 connections <= 10' } as const;

/** Drives one job through inputs at times; returns what it asked for and said. */
function drive(steps: Array<[number, RelocateInput, { mayStart: boolean; heldBy?: string }?]>, policy = POLICY) {
  let job: RelocateJob = newRelocateJob('b1');
  const actions: string[] = [];
  const events: string[] = [];
  for (const [at, input, gate] of steps) {
    const step = stepRelocate(job, input, policy, gate ?? OPEN, at);
    job = step.job;
    actions.push(...step.actions.map((a) => `@${at} run attempt ${a.attempt}: ${a.reason}`));
    events.push(...step.events.map((e) => `@${at} ${e.kind}: ${e.reason}`));
  }
  return { job, actions, events };
}

describe('stepRelocate', () => {
  it('runs the hook only once the backend has stayed overloaded for overloaded_for, then rests', () => {
    const r = drive([
      [0, hot], [5000, hot], [9999, { kind: 'tick' }], [10_000, { kind: 'tick' }],
      [10_500, hot], [20_000, { kind: 'hook_finished', ok: true, reason: 'exit code 0', output: 'migrated to hv-09' }],
      [30_000, hot], [79_999, { kind: 'tick' }],
    ]);
    expect(r.actions).toEqual(['@10000 run attempt 1: overloaded for 10000 ms (12 connections > 10)']);
    expect(r.events).toEqual([
      '@10000 relocate_started: attempt 1 of 2: overloaded for 10000 ms (12 connections > 10)',
      '@20000 relocate_succeeded: attempt 1: exit code 0',
    ]);
    expect(r.job.state).toEqual({ phase: 'resting', until: 80_000 });
  });

  it('forgets an overload that ends before overloaded_for', () => {
    const r = drive([[0, hot], [9000, cool], [9500, hot], [18_000, { kind: 'tick' }], [19_500, { kind: 'tick' }]]);
    expect(r.actions).toEqual(['@19500 run attempt 1: overloaded for 10000 ms (12 connections > 10)']);
  });

  it('retries a failed hook after backoff while still overloaded, gives up after max_attempts, and rests', () => {
    const fail = { kind: 'hook_finished', ok: false, reason: 'exit code 3', output: 'no capacity' } as const;
    const r = drive([[0, hot], [10_000, { kind: 'tick' }], [11_000, fail], [11_500, { kind: 'tick' }], [12_000, { kind: 'tick' }], [13_000, fail], [50_000, { kind: 'tick' }]]);
    expect(r.actions).toEqual([
      '@10000 run attempt 1: overloaded for 10000 ms (12 connections > 10)',
      '@12000 run attempt 2: still overloaded (12 connections > 10)',
    ]);
    expect(r.events.filter((e) => e.includes('failed'))).toEqual([
      '@11000 relocate_failed: attempt 1 of 2: relocate hook failed: exit code 3; retrying in 1000 ms if still overloaded',
      '@13000 relocate_failed: gave up after 2 attempt(s): relocate hook failed: exit code 3',
    ]);
    expect(r.job.state).toEqual({ phase: 'resting', until: 73_000 });
  });

  it('does not retry a backend that is no longer overloaded when its backoff ends', () => {
    const fail = { kind: 'hook_finished', ok: false, reason: 'exit code 3', output: '' } as const;
    const r = drive([[0, hot], [10_000, { kind: 'tick' }], [10_100, fail], [10_500, cool], [11_100, { kind: 'tick' }]]);
    expect(r.actions).toHaveLength(1);
    expect(r.job.state).toEqual({ phase: 'normal' });
  });

  it('holds an overdue relocation while the gate is shut (a standby, no free slot), saying so once, and starts when it opens', () => {
    const shut = { mayStart: false, heldBy: 'this instance is a standby (its master relocates)' };
    const r = drive([[0, hot], [10_000, { kind: 'tick' }, shut], [10_250, { kind: 'tick' }, shut], [10_500, { kind: 'tick' }]]);
    expect(r.events).toEqual([
      '@10000 relocate_held: overloaded for 10000 ms (12 connections > 10); not started: this instance is a standby (its master relocates)',
      '@10500 relocate_started: attempt 1 of 2: overloaded for 10500 ms (12 connections > 10)',
    ]);
  });

  it('counts an overload that began while resting from the end of the rest', () => {
    const ok = { kind: 'hook_finished', ok: true, reason: 'exit code 0', output: '' } as const;
    const r = drive([[0, hot], [10_000, { kind: 'tick' }], [11_000, ok], [12_000, hot], [71_000, { kind: 'tick' }], [80_000, { kind: 'tick' }], [81_000, { kind: 'tick' }]]);
    expect(r.actions).toEqual(['@10000 run attempt 1: overloaded for 10000 ms (12 connections > 10)', '@81000 run attempt 1: overloaded for 10000 ms (12 connections > 10)']);
  });

  it('validates its policy', () => {
    expect(() => validateRelocatePolicy({ ...POLICY, maxConcurrent: 0 })).toThrow('maxConcurrent must be an integer >= 1, got 0');
    expect(() => validateRelocatePolicy({ ...POLICY, backoffMaxMs: 10 })).toThrow('backoffMaxMs (10) must be >= backoffBaseMs (1000)');
  });
});

describe('overloadVerdict', () => {
  it('is overloaded above conns_above, and never while the backend does not serve', () => {
    expect(overloadVerdict({ activeConns: 11 }, true, { connsAbove: 10 })).toEqual({ overloaded: true, why: '11 connections > 10' });
    expect(overloadVerdict({ activeConns: 10 }, true, { connsAbove: 10 })).toEqual({ overloaded: false, why: '10 connections <= 10' });
    expect(overloadVerdict({ activeConns: 50 }, false, { connsAbove: 10 })).toEqual({ overloaded: false, why: 'not serving' });
  });
});

describe('the monitor runs the relocate hook', () => {
  const b1: MonitoredBackend = { id: 'b1', vnic: 'iface-id:b1', ip: '10.0.0.11', ports: [80], tier: 0, weight: 1, relocate: { command: ['/usr/local/bin/migrate-vm'], timeoutMs: 600_000 } };
  const b2: MonitoredBackend = { ...b1, id: 'b2', vnic: 'iface-id:b2', ip: '10.0.0.12' };

  function harness(results: HookResult[], mayRunHooks = () => true) {
    let clock = 0;
    const calls: HookContext[] = [];
    const events: VadcEvent[] = [];
    const monitor = new ServiceHealthMonitor({
      service: 'web', backends: [b1, b2], intervalMs: 1000, riseFall: { rise: 1, fall: 1 }, tiers: { holdMs: 0 },
      launch: { readyTimeoutMs: 1000, maxAttempts: 1, backoffBaseMs: 1, backoffMaxMs: 1, rearmMs: 1 },
      relocate: { ...POLICY, connsAbove: 10 }, now: () => clock, mayRunHooks,
      runHook: async (_hook, ctx) => {
        calls.push(ctx);
        return results.shift() ?? { ok: false, reason: 'no more scripted results', output: '', durationMs: 0 };
      },
    });
    monitor.on('event', (e: VadcEvent) => events.push(e));
    for (const id of ['b1', 'b2']) monitor.vnicChanged(id, { present: true });
    return { monitor, calls, events, at: (t: number) => (clock = t), settle: () => new Promise((r) => setImmediate(r)) };
  }

  it('relocates a serving backend that stayed over conns_above, with VADC_* context, one service-wide slot at a time', async () => {
    const h = harness([{ ok: true, reason: 'exit code 0', output: 'migrated', durationMs: 5 }]);
    h.monitor.updateLoads([['b1', { activeConns: 20 }], ['b2', { activeConns: 30 }]]);
    h.at(10_000);
    h.monitor.tick();
    expect(h.calls).toEqual([{ action: 'relocate', service: 'web', backend: 'b1', vnic: 'iface-id:b1', ip: '10.0.0.11', tier: 0, reason: 'overloaded for 10000 ms (20 connections > 10)', attempt: 1 }]);
    expect(h.events.map((e) => `${e.kind}:${e.backend}`)).toContain('relocate_held:b2');
    await h.settle();
    expect(h.events.map((e) => `${e.kind}:${e.backend}`)).toContain('relocate_succeeded:b1');
    h.at(10_250);
    h.monitor.tick();
    expect(h.calls.map((c) => c.backend)).toEqual(['b1', 'b2']);
  });

  it('does not relocate a draining backend, and runs nothing on a standby', () => {
    const h = harness([], () => false);
    h.monitor.drain('b1');
    h.monitor.updateLoads([['b1', { activeConns: 20 }], ['b2', { activeConns: 30 }]]);
    h.at(20_000);
    h.monitor.tick();
    expect(h.calls).toEqual([]);
    expect(h.events.filter((e) => e.kind.startsWith('relocate')).map((e) => `${e.kind}:${e.backend}`)).toEqual(['relocate_held:b2']);
  });

  it('is configured from the service\'s relocate section, only for services that have one', () => {
    const [svc, plain] = parseConfig(`services:
  - name: web
    vip: 10.0.0.100
    port: 80
    relocate: { command: [/usr/local/bin/migrate-vm], conns_above: 200, overloaded_for: 30 }
    backends: [{ vnic: "iface-id:a", ip: 10.0.0.11, ports: [80] }]
  - name: api
    vip: 10.0.0.101
    port: 80
    backends: [{ vnic: "iface-id:b", ip: 10.0.0.12, ports: [80] }]
`, 't.yaml').services;
    const opts = healthOptionsFromConfig(svc, { scheduler: {} as CheckScheduler });
    expect(opts.relocate).toEqual({ connsAbove: 200, overloadedForMs: 30_000, maxAttempts: 1, backoffBaseMs: 30_000, backoffMaxMs: 300_000, rearmMs: 600_000, maxConcurrent: 1 });
    expect(opts.backends[0].relocate).toEqual({ command: ['/usr/local/bin/migrate-vm'], timeoutMs: 600_000, env: {} });
    const none = healthOptionsFromConfig(plain, { scheduler: {} as CheckScheduler });
    expect(none.relocate).toBeUndefined();
    expect(none.backends[0].relocate).toBeUndefined();
  });
});
