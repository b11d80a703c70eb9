// Prints one plain closing line, "<project>: N passed, N failed, N skipped", that CI tooling reads; before it, when a
// test passed only on a retry (test/helpers/e2e-retry.ts), one line per such test with the failure it retried after.
class SummaryReporter {
  constructor(_globalConfig, options) {
    this.name = (options && options.name) || 'tests';
  }
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const retried = retriedTests(results);
    for (const r of retried) process.stdout.write(`\n${this.name}: passed on retry ${r.attempts - 1}: ${r.file} › ${r.name}\n  first failure: ${r.reason}`);
    const passedOnRetry = retried.length ? ` (${retried.length} of them on a retry, listed above)` : '';
    process.stdout.write(`\n${this.name}: ${results.numPassedTests} passed${passedOnRetry}, ${failed} failed, ${skipped} skipped\n`);
  }
}

/** The tests that passed after at least one failed attempt, with the first failure's first line. */
function retriedTests(results) {
  const out = [];
  for (const file of results.testResults) {
    for (const t of file.testResults) {
      if (t.status !== 'passed' || !(t.invocations > 1)) continue;
      const first = (t.retryReasons && t.retryReasons[0]) || '(no message)';
      out.push({
        file: require('path').relative(process.cwd(), file.testFilePath),
        name: t.fullName,
        attempts: t.invocations,
        reason: firstFailure(first),
      });
    }
  }
  return out;
}

/**
 * A retried test's first failure in one line: its first lines (the message and, for a toEqual, the diff that says
 * which field differed) and the test file's line it failed at. CI shows only a part of a run's output, and two lines
 * ("expect(received).toEqual(expected) / - Expected - 1") did not tell which of a test's assertions failed.
 */
function firstFailure(reason) {
  const lines = String(reason).replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  const head = lines.filter((l) => !l.startsWith('at ') && !/^\d+ \|/.test(l) && !/^>? *\d+ \|/.test(l) && l !== '|' && !/^\|\s*\^/.test(l)).slice(0, 8);
  const where = lines.find((l) => /^at .*\.(e2e|test)\.ts:\d+/.test(l));
  return [...head, ...(where ? [where] : [])].join(' / ').slice(0, 900);
}

module.exports = SummaryReporter;
module.exports.retriedTests = retriedTests;
