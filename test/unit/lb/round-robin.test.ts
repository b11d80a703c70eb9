import { RoundRobinScheduler, WeightedRoundRobinScheduler, setWeight, LbService } from '../../../src/lb';
import { members, sequence } from './fixtures';

describe('rr', () => {
  it('rotates through the members in list order', () => {
    expect(sequence(new RoundRobinScheduler(), members([1, 1, 1]), 7)).toBe('ABCABCA');
  });

  it('skips quiesced (weight 0), overloaded and down members', () => {
    const list = members([1, 0, 1, 1]);
    list[2].overloaded = true;
    expect(sequence(new RoundRobinScheduler(), list, 4)).toBe('ADAD');
    list[3].available = false;
    expect(sequence(new RoundRobinScheduler(), list, 2)).toBe('AA');
  });

  it('returns null when every member is unusable', () => {
    expect(sequence(new RoundRobinScheduler(), members([0, 0]), 2)).toBe('--');
  });

  it('continues after a removed member with the one that followed it', () => {
    const rr = new RoundRobinScheduler();
    const list = members([1, 1, 1, 1]);
    expect(sequence(rr, list, 2)).toBe('AB');
    const withoutB = [list[0], list[2], list[3]];
    expect(sequence(rr, withoutB, 4)).toBe('CDAC');
  });

  it('keeps its place after the first member when a member is appended', () => {
    const rr = new RoundRobinScheduler();
    const list = members([1, 1, 1, 1]);
    expect(sequence(rr, list.slice(0, 3), 1)).toBe('A');
    expect(sequence(rr, list, 3)).toBe('BCD'); // A, the last chosen, is still first: the rotation goes on after it
  });

  it('starts from the head when the last chosen member was the first and is removed', () => {
    const rr = new RoundRobinScheduler();
    const list = members([1, 1, 1, 1]);
    expect(sequence(rr, list, 1)).toBe('A');
    expect(sequence(rr, list.slice(1), 3)).toBe('BCD'); // no earlier survivor: B, the one that followed A
  });

  it('continues after the nearest earlier survivor when the last chosen and the member before it are removed', () => {
    const rr = new RoundRobinScheduler();
    const list = members([1, 1, 1, 1]);
    expect(sequence(rr, list, 3)).toBe('ABC');
    // C (last chosen) and B (before it) go: A is the nearest earlier survivor, so D, the one after C, comes next.
    expect(sequence(rr, [list[0], list[3]], 3)).toBe('DAD');
  });

  it('keeps its place when a member is appended', () => {
    const rr = new RoundRobinScheduler();
    const list = members([1, 1, 1, 1]);
    const first3 = list.slice(0, 3);
    expect(sequence(rr, first3, 2)).toBe('AB');
    expect(sequence(rr, list, 5)).toBe('CDABC');
  });
});

describe('wrr', () => {
  it('interleaves weights 4,3,2 as A A B A B C A B C, repeating', () => {
    expect(sequence(new WeightedRoundRobinScheduler(), members([4, 3, 2]), 18)).toBe('AABABCABC'.repeat(2));
  });

  it('steps by the gcd of the weights (4,2 behaves as 2,1)', () => {
    expect(sequence(new WeightedRoundRobinScheduler(), members([4, 2]), 6)).toBe('AABAAB');
  });

  it('follows a weight change (restarting from the head) and quiescing', () => {
    const service = new LbService(members([4, 3, 2]), { scheduler: 'wrr' });
    const s = service.scheduler;
    expect(sequence(s, service.backends, 3)).toBe('AAB');
    service.setWeight('A', 1);
    // cw was 3, new max 3: kept; the walk restarts at the head with cw 3.
    expect(sequence(s, service.backends, 6)).toBe('BBCABC');
    service.setWeight('B', 0);
    // cw was 1 (end of a round) and stays 1: A qualifies first, then C; the wrap resets cw to max 2.
    expect(sequence(s, service.backends, 5)).toBe('ACCAC');
  });

  it('keeps cw on the gcd grid (k*gcd + 1) after a weight change that leaves the gcd above 1', () => {
    // ip_vs_wrr_dest_changed: with gcd di > 1, cw becomes (cw / di) * di + 1, so the walk resumes at the same
    // step of the new grid. Weights 4,2 (gcd 2, max step 3): the first pick is A at cw 3.
    const service = new LbService(members([4, 2]), { scheduler: 'wrr' });
    const s = service.scheduler;
    expect(sequence(s, service.backends, 1)).toBe('A');
    service.setWeight('A', 6); // gcd still 2, steps 5,3,1: cw stays 3, where B (2) does not qualify
    // A at 3, A and B at 1, then full rounds 5,3,1: A, A, A B.
    expect(sequence(s, service.backends, 7)).toBe('AAB' + 'AAAB');
  });

  it('moves cw onto the new gcd grid when a weight change makes the gcd above 1 and cw is off it', () => {
    const service = new LbService(members([4, 1]), { scheduler: 'wrr' });
    const s = service.scheduler;
    expect(sequence(s, service.backends, 3)).toBe('AAA'); // cw 4, 3, 2 (gcd 1)
    service.setWeight('B', 2); // weights 4,2: gcd 2, steps 3,1; cw 2 becomes 3 (2 / 2 * 2 + 1)
    expect(sequence(s, service.backends, 6)).toBe('AAB' + 'AAB');
  });

  it('returns null when all weights are 0 or all usable members are overloaded', () => {
    expect(sequence(new WeightedRoundRobinScheduler(), members([0, 0]), 2)).toBe('--');
    const list = members([2, 1]);
    list.forEach((b) => (b.overloaded = true));
    expect(sequence(new WeightedRoundRobinScheduler(), list, 2)).toBe('--');
  });

  it('after a walk that found every member overloaded, resumes where it stopped (ip_vs_wrr keeps its mark)', () => {
    const list = members([2, 1]);
    const wrr = new WeightedRoundRobinScheduler();
    expect(sequence(wrr, list, 2)).toBe('AA'); // A at cw 2, A at cw 1: the mark is on A, cw 1
    list.forEach((b) => (b.overloaded = true));
    // The walk goes round once from A (cw back to 2, then 1) and stops at A again: nothing, the mark kept.
    expect(sequence(wrr, list, 1)).toBe('-');
    list.forEach((b) => (b.overloaded = false));
    expect(sequence(wrr, list, 4)).toBe('BAAB'); // B at cw 1, as if the overloaded round had not been
  });

  it('after a walk from the head that found every member overloaded, starts the next round from the top', () => {
    const list = members([2, 1]);
    const wrr = new WeightedRoundRobinScheduler();
    expect(sequence(wrr, list, 3)).toBe('AAB'); // a whole round: the mark is on B at cw 1
    list.forEach((b) => (b.overloaded = true));
    expect(sequence(wrr, list, 1)).toBe('-');
    list.forEach((b) => (b.overloaded = false));
    expect(sequence(wrr, list, 3)).toBe('AAB');
  });

  it('after a walk from the top step that found every member overloaded, starts again from the head at the top', () => {
    const list = members([2, 1]);
    const wrr = new WeightedRoundRobinScheduler();
    expect(sequence(wrr, list, 1)).toBe('A'); // the mark on A at cw 2, the top step
    list.forEach((b) => (b.overloaded = true));
    // Down to the last step (cw 1) and past it without a pick: ip_vs_wrr puts the mark back on the list head.
    expect(sequence(wrr, list, 1)).toBe('-');
    list.forEach((b) => (b.overloaded = false));
    expect(sequence(wrr, list, 3)).toBe('AAB');
  });

  it('after an overloaded walk from a middle member, resumes after it at the step it stopped', () => {
    const list = members([1, 2, 1]);
    const wrr = new WeightedRoundRobinScheduler();
    expect(sequence(wrr, list, 3)).toBe('BAB'); // B at cw 2; A B at cw 1: the mark on B at cw 1
    list.forEach((b) => (b.overloaded = true));
    expect(sequence(wrr, list, 1)).toBe('-'); // round once (cw 2, then 1) and stop at B
    list.forEach((b) => (b.overloaded = false));
    expect(sequence(wrr, list, 5)).toBe('C' + 'BABC'); // C finishes the cw-1 step
  });

  it('finds the one usable member whatever step the walk is at', () => {
    const list = members([3, 2, 1]);
    const wrr = new WeightedRoundRobinScheduler();
    expect(sequence(wrr, list, 4)).toBe('AAB' + 'A'); // cw 3: A; cw 2: A B; cw 1: A
    list[0].overloaded = true;
    list[1].overloaded = true;
    expect(sequence(wrr, list, 3)).toBe('CCC'); // C (weight 1) only qualifies at cw 1: each pick walks down to it
    list[2].overloaded = true;
    expect(sequence(wrr, list, 2)).toBe('--');
    list[1].overloaded = false;
    expect(sequence(wrr, list, 3)).toBe('BBB');
  });

  it('skips a quiesced member set directly on the backend (weight 0 is never >= cw)', () => {
    const list = members([2, 1]);
    const wrr = new WeightedRoundRobinScheduler();
    setWeight(list[1], 0);
    expect(sequence(wrr, list, 3)).toBe('AAA');
  });
});
