import { backoffDelay, newLaunchJob, stepLaunch, validateLaunchPolicy, type LaunchInput, type LaunchJob, type LaunchPolicy } from '../../../src/health';

const POLICY: LaunchPolicy = { readyTimeoutMs: 30_000, maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 1500, rearmMs: 60_000, stopCooldownMs: 5000 };

/** Applies timed inputs in order; returns the final job and everything done and reported on the way. */
function drive(inputs: Array<[number, LaunchInput]>, job: LaunchJob = newLaunchJob('s1', { backend: 's1' })) {
  const log: string[] = [];
  const events: Array<{ kind: string; level: string; reason: string; time: number }> = [];
  for (const [now, input] of inputs) {
    const out = stepLaunch(job, input, POLICY, now);
    job = out.job;
    out.actions.forEach((a) => log.push(`${now}:run ${a.hook} #${a.attempt}`));
    out.events.forEach((e) => events.push({ kind: e.kind, level: e.level, reason: e.reason, time: e.time }));
  }
  return { job, log, events };
}

const finished = (ok: boolean, reason = ok ? 'exit code 0' : 'exit code 1', hook: 'launch' | 'stop' = 'launch'): LaunchInput => ({ kind: 'hook_finished', hook, ok, reason, output: '' });

describe('launch orchestration', () => {
  it('runs the hook, waits for the vNIC and a passing check, then reports success', () => {
    const { job, log, events } = drive([
      [0, { kind: 'request', reason: 'tier 0 unavailable' }],
      [500, { kind: 'request', reason: 'tier 0 unavailable' }], // already in progress: nothing new
      [2000, finished(true)],
      [3000, { kind: 'vnic', present: true }],
      [4000, { kind: 'ready', ready: true }],
    ]);
    expect(log).toEqual(['0:run launch #1']);
    expect(events.map((e) => e.kind)).toEqual(['launch_started', 'launch_succeeded']);
    expect(job.state).toEqual({ phase: 'running', since: 4000 });
  });

  it("reports the successful hook's output with launch_succeeded, whether readiness came before or after it ended", () => {
    const hookDone: LaunchInput = { kind: 'hook_finished', hook: 'launch', ok: true, reason: 'exit code 0', output: 'domain vm4 started\n' };
    for (const order of [[hookDone, { kind: 'ready', ready: true }], [{ kind: 'ready', ready: true }, hookDone]] as LaunchInput[][]) {
      let job = stepLaunch(newLaunchJob('s1', { backend: 's1' }), { kind: 'request', reason: 'r' }, POLICY, 0).job;
      const reported = order.flatMap((input, i) => {
        const out = stepLaunch(job, input, POLICY, 100 * (i + 1));
        job = out.job;
        return out.events;
      });
      expect(reported.map((e) => [e.kind, e.lastOutput])).toEqual([['launch_succeeded', 'domain vm4 started\n']]);
    }
  });

  it('succeeds as soon as the hook ends when the target became healthy while it ran', () => {
    const { job } = drive([[0, { kind: 'request', reason: 'r' }], [100, { kind: 'ready', ready: true }], [200, finished(true)]]);
    expect(job.state.phase).toBe('running');
  });

  it('retries a failing hook with exponential backoff, then gives up loudly', () => {
    const { job, log, events } = drive([
      [0, { kind: 'request', reason: 'r' }],
      [100, finished(false)], // attempt 1 fails -> retry at 1100
      [1099, { kind: 'tick' }],
      [1100, { kind: 'tick' }],
      [1200, finished(false)], // attempt 2 fails -> retry after min(2000, 1500) = 1500 ms
      [2699, { kind: 'tick' }],
      [2700, { kind: 'tick' }],
      [2800, finished(false, 'not found: /opt/hooks/start-vm does not exist')],
    ]);
    expect(log).toEqual(['0:run launch #1', '1100:run launch #2', '2700:run launch #3']);
    const failures = events.filter((e) => e.kind === 'launch_failed');
    expect(failures.map((e) => e.level)).toEqual(['error', 'error', 'error']);
    expect(failures[0].reason).toBe('attempt 1 of 3: launch hook failed: exit code 1; retrying in 1000 ms');
    expect(failures[2].reason).toBe('gave up after 3 attempt(s): launch hook failed: not found: /opt/hooks/start-vm does not exist');
    expect(job.state).toEqual({ phase: 'failed', since: 2800, lastError: 'launch hook failed: not found: /opt/hooks/start-vm does not exist' });
  });

  it('fails an attempt whose vNIC never appears within the readiness timeout', () => {
    const { events, log } = drive([[0, { kind: 'request', reason: 'r' }], [1000, finished(true)], [29_999, { kind: 'tick' }], [30_000, { kind: 'tick' }]]);
    expect(events.map((e) => e.kind)).toEqual(['launch_started', 'launch_failed']);
    expect(events[1].reason).toBe('attempt 1 of 3: not ready within 30000 ms: its vNIC did not appear in OVSDB; retrying in 1000 ms');
    expect(log).toEqual(['0:run launch #1']);
  });

  it('says so when the vNIC appeared but the check never passed', () => {
    const { events } = drive([[0, { kind: 'request', reason: 'r' }], [1000, finished(true)], [2000, { kind: 'vnic', present: true }], [30_000, { kind: 'tick' }]]);
    expect(events[1].reason).toMatch(/its vNIC appeared but its health check did not pass/);
  });

  it('after giving up, starts a new cycle only once re-armed', () => {
    const failedJob = drive([[0, { kind: 'request', reason: 'r' }], [1, finished(false)], [1001, { kind: 'tick' }], [1002, finished(false)], [2502, { kind: 'tick' }], [2503, finished(false)]]).job;
    expect(failedJob.state.phase).toBe('failed');
    expect(drive([[10_000, { kind: 'request', reason: 'r' }]], failedJob).log).toEqual([]);
    expect(drive([[62_503, { kind: 'request', reason: 'r' }]], failedJob).log).toEqual(['62503:run launch #1']);
  });

  it('runs the stop hook after the cool-down once the target is unneeded and idle', () => {
    const running = drive([[0, { kind: 'request', reason: 'r' }], [10, { kind: 'ready', ready: true }], [20, finished(true)]]).job;
    const { log, events, job } = drive(
      [
        [1000, { kind: 'load', needed: false, activeConns: 3 }],
        [2000, { kind: 'load', needed: false, activeConns: 0 }], // idle from 2000
        [4000, { kind: 'load', needed: true, activeConns: 0 }], // needed again: cool-down restarts
        [5000, { kind: 'load', needed: false, activeConns: 0 }], // idle from 5000
        [9999, { kind: 'load', needed: false, activeConns: 0 }],
        [10_000, { kind: 'load', needed: false, activeConns: 0 }],
        [10_500, finished(false, 'timed out after 30000 ms; process group killed', 'stop')],
      ],
      running,
    );
    expect(log).toEqual(['10000:run stop #1']);
    expect(events.map((e) => [e.kind, e.level])).toEqual([['stop_started', 'info'], ['stop_failed', 'error']]);
    expect(job.state).toEqual({ phase: 'idle' });
  });

  it('computes capped exponential backoff and rejects a bad policy', () => {
    const p = { ...POLICY, backoffMaxMs: 10_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, p))).toEqual([1000, 2000, 4000, 8000, 10_000]);
    expect(() => validateLaunchPolicy({ ...POLICY, maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => validateLaunchPolicy({ ...POLICY, backoffMaxMs: 10 })).toThrow(/backoffMaxMs/);
  });
});
