// The e2e suites run on a real Open vSwitch lab on a shared 2-core machine: a test that fails once is run once more
// (as OVS's own testsuite does with RECHECK=yes), so that one timing-dependent failure in ~220 real-OVS tests does not
// hide the rest of a run. The retry is never silent: jest prints the first failure before it retries, and the
// summary reporter lists every test that passed only on its retry, with that failure's first line: each one is a
// defect to find (the developers' guide says where to note it). VADC_E2E_RETRIES=0 turns the retry off.
const retries = Number(process.env.VADC_E2E_RETRIES ?? '1');
if (!Number.isInteger(retries) || retries < 0) throw new Error(`VADC_E2E_RETRIES: expected an integer >= 0, got ${process.env.VADC_E2E_RETRIES}`);
jest.retryTimes(retries, { logErrorsBeforeRetry: true });
