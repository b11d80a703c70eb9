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

/** Whether `pattern` matches `text`, or 'timeout' when it did not finish within the budget. */
export function matchWithin(pattern: RegExp, text: string, budgetMs = REGEX_BUDGET_MS): boolean | 'timeout' {
  context.pattern = pattern;
  context.text = text;
  try {
    return test.runInContext(context, { timeout: budgetMs }) === true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw err;
  } finally {
    context.text = '';
  }
}
