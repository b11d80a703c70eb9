// The one polling wait of the tests (unit and e2e): polls a condition until it holds or the bound passes.

export interface UntilOptions {
  /** Between two polls (default 20 ms). A check that compares successive polls depends on it. */
  pollMs?: number;
  /** Said after the timeout message (what the test saw), asked once, when the wait fails. */
  detail?: () => string | Promise<string>;
}

/**
 * Resolves once `cond` holds; throws "timed out after MS ms waiting for WHAT" (plus `detail`) when it has not by
 * then. The bound only ends a failing test: nothing is asserted about how long the wait took.
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000, options: UntilOptions = {}): Promise<void> {
  await untilValue(async () => (await cond()) || undefined, what, ms, options);
}

/** `until` for a check that finds something: resolves with the first value `get` returns that is not undefined or false. */
export async function untilValue<T>(get: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 10_000, options: UntilOptions = {}): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const detail = options.detail ? `; ${await options.detail()}` : '';
      throw new Error(`timed out after ${ms} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 20));
  }
}

/** `until` in the order most e2e files call it (bound before what), polling every 50 ms unless told. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, options: UntilOptions = {}): Promise<void> {
  await until(cond, what, timeoutMs, { pollMs: 50, ...options });
}
