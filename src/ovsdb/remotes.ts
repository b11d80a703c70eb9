/**
 * Several remotes and the pause between connection attempts (pure).
 *
 * A remote list is written as OVS writes it: targets separated by commas, e.g.
 * "unix:/run/ovn/s1.sock,tcp:10.0.0.2:6641,ssl:10.0.0.3:6641". The session tries them in turn.
 * Like OVS's jsonrpc_session_open_multiple (reconnect's "backoff free tries"), after a connection drops
 * every remote gets one attempt with no pause; only when a whole round failed does the session back off,
 * exponentially with jitter so that many clients losing the same server do not come back in step.
 */
import { OvsdbTargetError } from './errors';
import { OvsdbTarget, parseTarget } from './transport';

/** More remotes than any real cluster has; a longer list is a configuration mistake. */
export const MAX_REMOTES = 64;

export function parseRemotes(text: string): OvsdbTarget[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length === 1 && parts[0] === '') throw new OvsdbTargetError(text, 'no remote given');
  if (parts.some((part) => part === '')) throw new OvsdbTargetError(text, 'empty remote in the comma-separated list');
  if (parts.length > MAX_REMOTES) throw new OvsdbTargetError(text, `more than ${MAX_REMOTES} remotes`);
  const targets = parts.map(parseTarget);
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.text)) throw new OvsdbTargetError(text, `${target.text} is listed twice`);
    seen.add(target.text);
  }
  return targets;
}

export interface BackoffPolicy {
  /** First pause after a failed round (default 500 ms). */
  initialMs: number;
  /** Longest pause (default 8 s, OVS's max_backoff). */
  maxMs: number;
  /** Fraction of the pause randomised either way: 0.25 gives 75 %..125 % (default 0.25). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 8_000, jitter: 0.25 };

/**
 * The pause before the next round after `failedRounds` (>= 1) consecutive failed rounds:
 * initialMs doubling per round up to maxMs, then spread by +-jitter. `random` returns [0, 1).
 */
export function backoffDelay(failedRounds: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failedRounds - 1, 0), 30);
  const base = Math.min(policy.initialMs * 2 ** exponent, policy.maxMs);
  const jitter = Math.min(Math.max(policy.jitter, 0), 1);
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}

export function checkBackoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  const bad = (what: string): never => {
    throw new RangeError(`OVSDB backoff: ${what}`);
  };
  if (!(policy.initialMs > 0)) bad(`backoffInitialMs must be > 0, got ${policy.initialMs}`);
  if (!(policy.maxMs >= policy.initialMs)) bad(`backoffMaxMs (${policy.maxMs}) must be >= backoffInitialMs (${policy.initialMs})`);
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) bad(`backoffJitter must be within 0..1, got ${policy.jitter}`);
  return policy;
}

/** A copy of `items` in random order (Fisher-Yates), so that many clients spread over a cluster's members. */
export function shuffled<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
