import type { HealthEvent } from './events';

/**
 * Launch orchestration for one target (a backend, or a whole tier) as a pure state machine. The caller runs
 * the hooks it asks for (HookRunner), feeds back their results, the vNIC and health verdicts, and a `tick`
 * now and then; the machine enforces the readiness timeout, retries with exponential backoff, and the stop
 * cool-down.
 */
export interface LaunchPolicy {
  /** From the hook's start: how long the target may take to show its vNIC and pass its check. */
  readyTimeoutMs: number;
  /** Attempts per launch cycle (>= 1). */
  maxAttempts: number;
  /** Wait before attempt n+1 is backoffBaseMs * 2^(n-1), capped at backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** After giving up, a new request starts a new cycle only after this long. */
  rearmMs: number;
  /** With a stop hook: run it once the target has been unneeded and idle for this long. */
  stopCooldownMs?: number;
}

export type LaunchPhase =
  | { phase: 'idle' }
  | { phase: 'hook_running'; attempt: number; startedAt: number; reason: string }
  /** `hookOutput`: what the successful hook printed, reported with launch_succeeded. */
  | { phase: 'waiting_ready'; attempt: number; startedAt: number; reason: string; hookOutput: string }
  | { phase: 'backoff'; attempt: number; retryAt: number; reason: string }
  | { phase: 'failed'; since: number; lastError: string }
  | { phase: 'running'; since: number; idleSince?: number }
  | { phase: 'stopping'; startedAt: number };

export interface LaunchJob {
  /** Backend id, or 'tier N' for a tier-level hook. */
  target: string;
  backend?: string;
  tier?: number;
  state: LaunchPhase;
  vnicSeen: boolean;
  ready: boolean;
}

export type LaunchInput =
  /** Failover needs this target and it is not running. */
  | { kind: 'request'; reason: string }
  | { kind: 'hook_finished'; hook: 'launch' | 'stop'; ok: boolean; reason: string; output: string }
  | { kind: 'vnic'; present: boolean }
  /** The target's health verdict (backend up / tier available). */
  | { kind: 'ready'; ready: boolean }
  /** For the stop cool-down: whether failover still needs the target and its live connections. */
  | { kind: 'load'; needed: boolean; activeConns: number }
  | { kind: 'tick' };

export type LaunchAction = { kind: 'run_hook'; hook: 'launch' | 'stop'; attempt: number; reason: string };

export interface LaunchStep {
  job: LaunchJob;
  actions: LaunchAction[];
  events: HealthEvent[];
}

export function validateLaunchPolicy(p: LaunchPolicy): void {
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer >= 1, got ${p.maxAttempts}`);
  for (const key of ['readyTimeoutMs', 'backoffBaseMs', 'backoffMaxMs', 'rearmMs'] as const) {
    if (!(p[key] >= 0)) throw new RangeError(`${key} must be >= 0, got ${p[key]}`);
  }
  if (p.backoffMaxMs < p.backoffBaseMs) throw new RangeError(`backoffMaxMs (${p.backoffMaxMs}) must be >= backoffBaseMs (${p.backoffBaseMs})`);
}

export function newLaunchJob(target: string, where: { backend?: string; tier?: number } = {}): LaunchJob {
  return { target, ...where, state: { phase: 'idle' }, vnicSeen: false, ready: false };
}

export function backoffDelay(attempt: number, p: LaunchPolicy): number {
  return Math.min(p.backoffBaseMs * 2 ** (attempt - 1), p.backoffMaxMs);
}

export function stepLaunch(job: LaunchJob, input: LaunchInput, policy: LaunchPolicy, now: number): LaunchStep {
  const actions: LaunchAction[] = [];
  const events: HealthEvent[] = [];
  const event = (kind: HealthEvent['kind'], level: HealthEvent['level'], reason: string, extra: Partial<HealthEvent> = {}) =>
    events.push({ kind, level, time: now, reason, backend: job.backend, tier: job.tier, ...extra });
  let next: LaunchJob = job;
  if (input.kind === 'vnic') next = { ...next, vnicSeen: next.vnicSeen || input.present };
  if (input.kind === 'ready') next = { ...next, ready: input.ready };

  const startAttempt = (attempt: number, reason: string) => {
    next = { ...next, state: { phase: 'hook_running', attempt, startedAt: now, reason }, vnicSeen: false };
    actions.push({ kind: 'run_hook', hook: 'launch', attempt, reason });
    event('launch_started', 'info', `attempt ${attempt} of ${policy.maxAttempts}: ${reason}`, { data: { attempt } });
  };
  const failAttempt = (attempt: number, why: string, reason: string, output?: string) => {
    if (attempt < policy.maxAttempts) {
      const retryAt = now + backoffDelay(attempt, policy);
      next = { ...next, state: { phase: 'backoff', attempt, retryAt, reason } };
      event('launch_failed', 'error', `attempt ${attempt} of ${policy.maxAttempts}: ${why}; retrying in ${retryAt - now} ms`, {
        lastOutput: output,
        data: { attempt, willRetry: true, retryAt },
      });
    } else {
      next = { ...next, state: { phase: 'failed', since: now, lastError: why } };
      event('launch_failed', 'error', `gave up after ${attempt} attempt(s): ${why}`, { lastOutput: output, data: { attempt, willRetry: false } });
    }
  };
  const succeed = (attempt: number, hookOutput: string) => {
    next = { ...next, state: { phase: 'running', since: now } };
    event('launch_succeeded', 'info', `running and healthy after attempt ${attempt}`, { lastOutput: hookOutput, data: { attempt } });
  };

  const s = next.state;
  switch (s.phase) {
    case 'idle':
      if (input.kind === 'request') startAttempt(1, input.reason);
      break;
    case 'failed':
      if (input.kind === 'request' && now - s.since >= policy.rearmMs) startAttempt(1, input.reason);
      break;
    case 'backoff':
      if (input.kind === 'tick' && now >= s.retryAt) startAttempt(s.attempt + 1, s.reason);
      break;
    case 'hook_running':
      if (input.kind === 'hook_finished' && input.hook === 'launch') {
        if (!input.ok) failAttempt(s.attempt, `launch hook failed: ${input.reason}`, s.reason, input.output);
        else if (next.ready) succeed(s.attempt, input.output);
        else next = { ...next, state: { ...s, phase: 'waiting_ready', hookOutput: input.output } };
      } else if (now - s.startedAt >= policy.readyTimeoutMs && input.kind === 'tick') {
        // The runner enforces the hook's own timeout; this only guards against a lost hook result.
        failAttempt(s.attempt, `no result from the launch hook within ${policy.readyTimeoutMs} ms`, s.reason);
      }
      break;
    case 'waiting_ready':
      if (next.ready) succeed(s.attempt, s.hookOutput);
      else if (now - s.startedAt >= policy.readyTimeoutMs) {
        const why = next.vnicSeen ? 'its vNIC appeared but its health check did not pass' : 'its vNIC did not appear in OVSDB';
        failAttempt(s.attempt, `not ready within ${policy.readyTimeoutMs} ms: ${why}`, s.reason);
      }
      break;
    case 'running':
      if (input.kind === 'vnic' && !input.present) next = { ...next, state: { phase: 'idle' }, ready: false };
      else if (input.kind === 'load' && policy.stopCooldownMs !== undefined) {
        const idle = !input.needed && input.activeConns === 0;
        const idleSince = idle ? (s.idleSince ?? now) : undefined;
        if (idleSince !== undefined && now - idleSince >= policy.stopCooldownMs) {
          next = { ...next, state: { phase: 'stopping', startedAt: now } };
          actions.push({ kind: 'run_hook', hook: 'stop', attempt: 1, reason: `unneeded and idle for ${now - idleSince} ms` });
          event('stop_started', 'info', `unneeded and idle for ${now - idleSince} ms`);
        } else if (idleSince !== s.idleSince) {
          next = { ...next, state: { ...s, idleSince } };
        }
      }
      break;
    case 'stopping':
      if (input.kind === 'hook_finished' && input.hook === 'stop') {
        next = { ...next, state: { phase: 'idle' } };
        if (input.ok) event('stop_succeeded', 'info', input.reason, { lastOutput: input.output });
        else event('stop_failed', 'error', `stop hook failed: ${input.reason}`, { lastOutput: input.output });
      }
      break;
  }
  return { job: next, actions, events };
}
