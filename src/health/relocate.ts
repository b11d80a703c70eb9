import type { HealthEvent } from './events';

/**
 * The relocate hook of one backend as a pure state machine: a corrective action (a live migration to a less
 * loaded host, say) when the backend has stayed overloaded for a configured time. The same safety rules as the
 * launch hook: the runner bounds the hook's time and kills its process group, attempts are counted and retried
 * with exponential backoff, a backend that was relocated (or given up on) rests before it can be again, a
 * standby runs nothing, and at most `maxConcurrent` relocations of a service run at once. The caller runs the
 * hooks it asks for and feeds back their results, the backend's load verdict and a `tick` now and then.
 */
export interface RelocatePolicy {
  /** How long the backend must stay overloaded before the hook runs. */
  overloadedForMs: number;
  /** Attempts per cycle (>= 1). */
  maxAttempts: number;
  /** Wait before attempt n+1 is backoffBaseMs * 2^(n-1), capped at backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** After a relocation, or after giving up, the backend is not relocated again for this long. */
  rearmMs: number;
  /** Relocations of one service running at once. */
  maxConcurrent: number;
}

export type RelocatePhase =
  | { phase: 'normal' }
  | { phase: 'overloaded'; since: number; why: string }
  | { phase: 'hook_running'; attempt: number; startedAt: number; reason: string }
  | { phase: 'backoff'; attempt: number; retryAt: number; reason: string }
  | { phase: 'resting'; until: number };

export type RelocateInput =
  /** The backend's load now: `overloaded` with why (e.g. '12 connections > 10'), or not. */
  | { kind: 'load'; overloaded: boolean; why: string }
  | { kind: 'hook_finished'; ok: boolean; reason: string; output: string }
  | { kind: 'tick' };

/** What the machine may do now besides its own state: whether this instance may run hooks and a slot is free. */
export interface RelocateGate {
  mayStart: boolean;
  /** Why not, for the event of an overdue relocation held back (reported once per cycle). */
  heldBy?: string;
}

export interface RelocateJob {
  backend: string;
  state: RelocatePhase;
  overloaded: boolean;
  why: string;
  /** The hold-back was reported in this cycle. */
  heldReported: boolean;
}

export interface RelocateStep {
  job: RelocateJob;
  actions: { kind: 'run_hook'; attempt: number; reason: string }[];
  events: HealthEvent[];
}

export function validateRelocatePolicy(p: RelocatePolicy): void {
  for (const key of ['maxAttempts', 'maxConcurrent'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 1) throw new RangeError(`${key} must be an integer >= 1, got ${p[key]}`);
  }
  for (const key of ['overloadedForMs', 'backoffBaseMs', 'backoffMaxMs', 'rearmMs'] as const) {
    if (!(p[key] >= 0)) throw new RangeError(`${key} must be >= 0, got ${p[key]}`);
  }
  if (p.backoffMaxMs < p.backoffBaseMs) throw new RangeError(`backoffMaxMs (${p.backoffMaxMs}) must be >= backoffBaseMs (${p.backoffBaseMs})`);
}

export function newRelocateJob(backend: string): RelocateJob {
  return { backend, state: { phase: 'normal' }, overloaded: false, why: '', heldReported: false };
}

export function stepRelocate(job: RelocateJob, input: RelocateInput, policy: RelocatePolicy, gate: RelocateGate, now: number): RelocateStep {
  const actions: RelocateStep['actions'] = [];
  const events: HealthEvent[] = [];
  const event = (kind: HealthEvent['kind'], level: HealthEvent['level'], reason: string, extra: Partial<HealthEvent> = {}) =>
    events.push({ kind, level, time: now, reason, backend: job.backend, ...extra });
  let next: RelocateJob = input.kind === 'load' ? { ...job, overloaded: input.overloaded, why: input.why } : job;

  const start = (attempt: number, reason: string) => {
    if (!gate.mayStart) {
      if (!next.heldReported) event('relocate_held', 'warn', `${reason}; not started: ${gate.heldBy ?? 'not allowed now'}`);
      next = { ...next, heldReported: true };
      return false;
    }
    next = { ...next, state: { phase: 'hook_running', attempt, startedAt: now, reason }, heldReported: false };
    actions.push({ kind: 'run_hook', attempt, reason });
    event('relocate_started', 'warn', `attempt ${attempt} of ${policy.maxAttempts}: ${reason}`, { data: { attempt } });
    return true;
  };

  const s = next.state;
  switch (s.phase) {
    case 'normal':
      if (next.overloaded) next = { ...next, state: { phase: 'overloaded', since: now, why: next.why }, heldReported: false };
      break;
    case 'overloaded':
      if (!next.overloaded) next = { ...next, state: { phase: 'normal' } };
      else if (now - s.since >= policy.overloadedForMs) start(1, `overloaded for ${now - s.since} ms (${next.why})`);
      break;
    case 'hook_running':
      if (input.kind === 'hook_finished') {
        if (input.ok) {
          next = { ...next, state: { phase: 'resting', until: now + policy.rearmMs } };
          event('relocate_succeeded', 'info', `attempt ${s.attempt}: ${input.reason}`, { lastOutput: input.output, data: { attempt: s.attempt } });
        } else if (s.attempt < policy.maxAttempts) {
          const retryAt = now + Math.min(policy.backoffBaseMs * 2 ** (s.attempt - 1), policy.backoffMaxMs);
          next = { ...next, state: { phase: 'backoff', attempt: s.attempt, retryAt, reason: s.reason } };
          event('relocate_failed', 'error', `attempt ${s.attempt} of ${policy.maxAttempts}: relocate hook failed: ${input.reason}; retrying in ${retryAt - now} ms if still overloaded`, {
            lastOutput: input.output, data: { attempt: s.attempt, willRetry: true, retryAt },
          });
        } else {
          next = { ...next, state: { phase: 'resting', until: now + policy.rearmMs } };
          event('relocate_failed', 'error', `gave up after ${s.attempt} attempt(s): relocate hook failed: ${input.reason}`, {
            lastOutput: input.output, data: { attempt: s.attempt, willRetry: false },
          });
        }
      }
      break;
    case 'backoff':
      if (input.kind !== 'tick' || now < s.retryAt) break;
      if (!next.overloaded) next = { ...next, state: { phase: 'normal' } };
      else start(s.attempt + 1, `still overloaded (${next.why})`);
      break;
    case 'resting':
      // Overload that began while resting counts from the end of the rest, not from before the relocation.
      if (now >= s.until) next = { ...next, state: next.overloaded ? { phase: 'overloaded', since: now, why: next.why } : { phase: 'normal' } };
      break;
  }
  return { job: next, actions, events };
}

/** Running relocations (a slot each, against maxConcurrent). */
export function relocationsRunning(jobs: Iterable<RelocateJob>): number {
  let n = 0;
  for (const job of jobs) if (job.state.phase === 'hook_running') n++;
  return n;
}

/** What makes a backend overloaded for the relocate hook: more live connections than this. */
export interface OverloadThresholds {
  connsAbove: number;
}

/**
 * Pure: whether a backend counts as overloaded now, and why. Only a backend that serves (healthy, not draining)
 * can be: a failed or draining one is the health and drain logic's business, not a reason to move a VM.
 */
export function overloadVerdict(load: { activeConns: number }, serving: boolean, t: OverloadThresholds): { overloaded: boolean; why: string } {
  if (!serving) return { overloaded: false, why: 'not serving' };
  if (load.activeConns > t.connsAbove) return { overloaded: true, why: `${load.activeConns} connections > ${t.connsAbove}` };
  return { overloaded: false, why: `${load.activeConns} connections <= ${t.connsAbove}` };
}
