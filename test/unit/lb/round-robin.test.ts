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

  it('returns null when all weights are 0 or all usable members are overloaded', () => {
    expect(sequence(new WeightedRoundRobinScheduler(), members([0, 0]), 2)).toBe('--');
    const list = members([2, 1]);
    list.forEach((b) => (b.overloaded = true));
    expect(sequence(new WeightedRoundRobinScheduler(), list, 2)).toBe('--');
  });

  it('skips a quiesced member set directly on the backend (weight 0 is never >= cw)', () => {
    const list = members([2, 1]);
    const wrr = new WeightedRoundRobinScheduler();
    setWeight(list[1], 0);
    expect(sequence(wrr, list, 3)).toBe('AAA');
  });
});
