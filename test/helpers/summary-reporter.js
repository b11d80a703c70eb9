// Prints one plain closing line, "<project>: N passed, N failed, N skipped", that CI tooling reads.
class SummaryReporter {
  constructor(_globalConfig, options) {
    this.name = (options && options.name) || 'tests';
  }
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\n${this.name}: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
