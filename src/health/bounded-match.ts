import vm from 'node:vm';

/**
 * How long one health-check pattern may run on one answer. Patterns are the operator's, answers the backend's:
 * a pattern that backtracks catastrophically (`^(a+)+$` on "aaaa...b") would otherwise hold the event loop for
 * minutes, and every switch session with it. 50 ms is ~1000 times what a health page needs (a 64 KiB body is
 * matched in well under 1 ms) and far below OpenFlow's echo interval. docs/operators/resource-caps.md.
 */
export const REGEX_BUDGET_MS = 50;

// One context, reused: V8 interrupts a regular expression running under vm's timeout (its backtracking loop
// checks for interrupts), so the budget holds for any pattern JavaScript accepts.
const context = vm.createContext({ pattern: /(?:)/, text: '' });
const test = new vm.Script('pattern.lastIndex = 0; pattern.test(text)');

/** One timed run: the match's answer and the CPU time it used, in ms. */
export type TimedMatch = (pattern: RegExp, text: string, budgetMs: number) => { result: boolean | 'timeout'; cpuMs: number };

/** At most this many runs of one pattern on one answer (a timeout repeated only when the budget was not spent). */
export const REGEX_TRIES = 3;

/**
 * Whether `pattern` matches `text`, or 'timeout' when it did not finish within the budget.
 * The budget is wall time (vm's timeout), so on a loaded machine a cheap pattern can run out of it while
 * the process is not even scheduled. A run that timed out having used less than half the budget in CPU time
 * lost the rest to the machine, not to the pattern: it is run again, at most REGEX_TRIES runs in all.
 * A pattern that really backtracks uses its whole budget in CPU and times out the first time.
 */
export function matchWithin(pattern: RegExp, text: string, budgetMs = REGEX_BUDGET_MS, run: TimedMatch = timedMatch): boolean | 'timeout' {
  for (let tries = 1; ; tries++) {
    const { result, cpuMs } = run(pattern, text, budgetMs);
    if (result !== 'timeout' || cpuMs >= budgetMs / 2 || tries >= REGEX_TRIES) return result;
  }
}

/** One run under vm's timeout, with the CPU time it used when it timed out. */
export function timedMatch(pattern: RegExp, text: string, budgetMs: number): { result: boolean | 'timeout'; cpuMs: number } {
  context.pattern = pattern;
  context.text = text;
  const cpu = process.cpuUsage();
  try {
    return { result: test.runInContext(context, { timeout: budgetMs }) === true, cpuMs: 0 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
    const used = process.cpuUsage(cpu);
    return { result: 'timeout', cpuMs: (used.user + used.system) / 1000 };
  } finally {
    context.text = '';
  }
}
