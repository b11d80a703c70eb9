import { restoreWithRetries } from '../../../src/daemon/restore-retry';

/** Tries that fail `failures` times and then succeed; what was reported and slept. */
function scenario(failures: number, goOn: () => boolean = () => true) {
  let tries = 0;
  const reported: [string, number | undefined][] = [];
  const slept: number[] = [];
  const run = restoreWithRetries({
    attempt: () => (++tries <= failures ? Promise.reject(new Error(`no answer within 10000 ms (try ${tries})`)) : Promise.resolve()),
    goOn,
    onFailure: (err, retryInMs) => reported.push([err.message, retryInMs]),
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    delaysMs: [1000, 2000, 4000],
  });
  return { run, reported, slept, tries: () => tries };
}

describe('restoreWithRetries', () => {
  it('tries again after a failed reading, with growing delays, until one succeeds', async () => {
    const s = scenario(2);
    await expect(s.run).resolves.toBe(true);
    expect(s.tries()).toBe(3);
    expect(s.slept).toEqual([1000, 2000]);
    expect(s.reported).toEqual([['no answer within 10000 ms (try 1)', 1000], ['no answer within 10000 ms (try 2)', 2000]]);
  });

  it('gives up when the delays run out, saying the last failure was the last', async () => {
    const s = scenario(10);
    await expect(s.run).resolves.toBe(false);
    expect(s.tries()).toBe(4);
    expect(s.reported.map(([, retry]) => retry)).toEqual([1000, 2000, 4000, undefined]);
  });

  it('stops once the switch is gone (or the daemon stopped), before or after the wait', async () => {
    const gone = scenario(10, () => false);
    await expect(gone.run).resolves.toBe(false);
    expect(gone.tries()).toBe(1);
    expect(gone.reported).toEqual([['no answer within 10000 ms (try 1)', undefined]]);
    let checks = 0;
    const goneDuringWait = scenario(10, () => ++checks < 2);
    await expect(goneDuringWait.run).resolves.toBe(false);
    expect(goneDuringWait.tries()).toBe(1);
    expect(goneDuringWait.slept).toEqual([1000]);
  });
});
