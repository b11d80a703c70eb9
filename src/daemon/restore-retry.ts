// Re-tracking a switch's connections after vadc (re)connects: one reading of the datapath (its connection flows, or
// the tracker's listing of 100,000 connections, which can take seconds on a loaded host). A reading that fails is
// tried again after a growing delay while the switch stays connected: given up at once, every connection the
// datapath kept through a restart stayed unknown to vadc until the switch reconnected (issue 15).

/** Delays before the second, third, ... try, ms. */
export const RESTORE_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000, 16_000];

export interface RestoreRetryOptions {
  /** One try: resolves when the connections were read back and re-tracked. */
  attempt: () => Promise<void>;
  /** Whether another try still makes sense (the daemon runs and the switch is connected). */
  goOn: () => boolean;
  /** A try failed; `retryInMs` undefined: that was the last. */
  onFailure: (err: Error, retryInMs: number | undefined) => void;
  sleep: (ms: number) => Promise<void>;
  delaysMs?: readonly number[];
}

/** Tries until one succeeds, the delays run out or goOn() says stop; true when the connections were re-tracked. */
export async function restoreWithRetries(opts: RestoreRetryOptions): Promise<boolean> {
  const delays = opts.delaysMs ?? RESTORE_RETRY_DELAYS_MS;
  for (let tries = 0; ; tries++) {
    try {
      await opts.attempt();
      return true;
    } catch (err) {
      const retryInMs = tries < delays.length && opts.goOn() ? delays[tries] : undefined;
      opts.onFailure(err as Error, retryInMs);
      if (retryInMs === undefined) return false;
      await opts.sleep(retryInMs);
      if (!opts.goOn()) return false;
    }
  }
}
