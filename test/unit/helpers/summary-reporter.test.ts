// The e2e summary names every test that passed only on a retry (test/helpers/e2e-retry.ts): a retry is never silent.
import path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SummaryReporter = require('../../helpers/summary-reporter.js');

function results(tests: { fullName: string; status: string; invocations?: number; retryReasons?: string[] }[]) {
  return {
    numPendingTests: 0, numTodoTests: 0, numRuntimeErrorTestSuites: 0,
    numPassedTests: tests.filter((t) => t.status === 'passed').length,
    numFailedTests: tests.filter((t) => t.status === 'failed').length,
    testResults: [{ testFilePath: path.join(process.cwd(), 'test/e2e/x.e2e.ts'), testResults: tests }],
  };
}

function printed(r: ReturnType<typeof results>): string {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out += String(chunk); return true; });
  try {
    new SummaryReporter({}, { name: 'e2e' }).onRunComplete(new Set(), r);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('e2e summary reporter', () => {
  it('lists a test that passed on its retry, with the first failure, and counts it in the closing line', () => {
    const out = printed(results([
      { fullName: 'lb spreads', status: 'passed', invocations: 1 },
      { fullName: 'outlier ejects', status: 'passed', invocations: 2, retryReasons: ['\u001b[31mError: expect(received).toBe(expected)\u001b[39m\n\n  Expected: true\n  Received: false\n  at x.e2e.ts:107'] },
      { fullName: 'ha takes over', status: 'failed', invocations: 2, retryReasons: ['Error: timeout'] },
    ]));
    expect(out).toContain('e2e: passed on retry 1: test/e2e/x.e2e.ts › outlier ejects');
    expect(out).toContain('first failure: Error: expect(received).toBe(expected) / Expected: true / Received: false / at x.e2e.ts:107');
    expect(out).not.toContain('\u001b[');
    expect(out).not.toContain('lb spreads');
    expect(out).not.toContain('ha takes over'); // a failed test is in jest's own failure list, not here
    expect(out.trim().split('\n').pop()).toBe('e2e: 2 passed (1 of them on a retry, listed above), 1 failed, 0 skipped');
  });

  it('prints the plain closing line alone when nothing was retried', () => {
    expect(printed(results([{ fullName: 'a', status: 'passed', invocations: 1 }, { fullName: 'b', status: 'pending' }])).trim())
      .toBe('e2e: 1 passed, 0 failed, 0 skipped');
  });
});
