import { allowLoop } from '../../../src/bench/flowsetup';
import { FlowSetupOptionError } from '../../../src/bench/errors';
import { validateOptions, withDefaults } from '../../../src/bench/plan';

/** Switches that only record what they were allowed. */
function switches(n: number) {
  return Array.from({ length: n }, () => {
    const allowed: number[] = [];
    return { allowed, allow: (k: number) => void allowed.push(k) };
  });
}
const total = (sw: { allowed: number[] }) => sw.allowed.reduce((a, b) => a + b, 0);

describe('paced fixed-count loops (--rate)', () => {
  afterEach(() => jest.useRealTimers());

  it('without a rate allows each switch its whole loop at once', () => {
    const sws = switches(3);
    allowLoop(sws, 500)();
    expect(sws.map((sw) => sw.allowed)).toEqual([[500], [500], [500]]);
  });

  it('with a rate allows what the clock since the loop began allows, catches up after a late timer, and stops at the loop', () => {
    jest.useFakeTimers();
    let clock = 1000;
    const sws = switches(2);
    allowLoop(sws, 50, 1000, () => clock); // 1 per ms per switch
    expect(sws.map(total)).toEqual([1, 1]);
    clock += 10;
    jest.advanceTimersByTime(5);
    expect(sws.map(total)).toEqual([11, 11]);
    clock += 25; // a timer late by 20 ms: the next tick allows what is due now
    jest.advanceTimersByTime(5);
    expect(sws.map(total)).toEqual([36, 36]);
    clock += 100;
    jest.advanceTimersByTime(5);
    expect(sws.map(total)).toEqual([50, 50]); // never more than the loop's count
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops allowing when stopped (a failed loop)', () => {
    jest.useFakeTimers();
    let clock = 0;
    const sws = switches(1);
    const stop = allowLoop(sws, 1000, 100, () => clock);
    stop();
    clock += 5000;
    jest.advanceTimersByTime(100);
    expect(total(sws[0])).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses a rate without fixed-count loops, and a rate out of range', () => {
    expect(() => validateOptions(withDefaults({ rate: 1000 }))).toThrow(FlowSetupOptionError);
    expect(() => validateOptions(withDefaults({ rate: 1000 }))).toThrow(/--rate: paces fixed-count loops: give --connections too/);
    expect(() => validateOptions(withDefaults({ rate: 0, connections: 10 }))).toThrow(/--rate: expected an integer 1\.\.10000000, got 0/);
    expect(() => validateOptions(withDefaults({ rate: 1000, connections: 10 }))).not.toThrow();
  });
});
