import { DEFAULT_END_LINGER_MS, EndLingerRing, LbService } from '../../../src/lb';
import { members } from './fixtures';

describe('the end-linger ring (ended connections counted in lc overhead for a while)', () => {
  it('counts an end in its backend until now + lingerMs, then not (IPVS TIME_WAIT/CLOSE, vadc: 1 s)', () => {
    const list = members([1, 1]);
    const ring = new EndLingerRing(list);
    expect(ring.lingerMs).toBe(DEFAULT_END_LINGER_MS);
    ring.add(1, 10);
    expect([list[0].lingeringConns, list[1].lingeringConns, ring.lingering]).toEqual([0, 1, 1]);
    ring.expire(10 + DEFAULT_END_LINGER_MS - 1);
    expect([list[1].lingeringConns, ring.lingering]).toEqual([1, 1]);
    ring.expire(10 + DEFAULT_END_LINGER_MS);
    expect([list[1].lingeringConns, ring.lingering]).toEqual([0, 0]);
  });

  it('lingerMs 0 counts nothing', () => {
    const list = members([1]);
    const ring = new EndLingerRing(list, 0);
    ring.add(0, 10);
    expect([list[0].lingeringConns, ring.lingering]).toEqual([0, 0]);
  });

  it('holds any number of lingering ends in time order (it grows past its first 64), each uncounted at its time', () => {
    const list = members([1, 1, 1]);
    const ring = new EndLingerRing(list, 1000);
    // 300 ends 1 ms apart, in turn on A, B, C; a late report of an earlier end keeps the order (counted until the newest).
    for (let i = 0; i < 300; i++) ring.add(i % 3, 100 + i);
    ring.add(0, 50);
    expect(list.map((b) => b.lingeringConns)).toEqual([101, 100, 100]);
    ring.expire(1100 + 149); // the ends at 100..249 are over
    expect(list.map((b) => b.lingeringConns)).toEqual([51, 50, 50]);
    expect(ring.lingering).toBe(151);
    ring.expire(1100 + 299); // all of them, the late one last
    expect(list.map((b) => b.lingeringConns)).toEqual([0, 0, 0]);
    expect(ring.lingering).toBe(0);
  });

  it('keeps its order when it grows after wrapping around (head not at index 0)', () => {
    const list = members([1, 1]);
    const ring = new EndLingerRing(list, 100);
    for (let i = 0; i < 40; i++) ring.add(0, i);
    ring.expire(100 + 29); // 30 gone: the head is at 30
    for (let i = 0; i < 60; i++) ring.add(1, 200 + i); // 70 held: wraps, then grows
    expect([list[0].lingeringConns, list[1].lingeringConns, ring.lingering]).toEqual([10, 60, 70]);
    ring.expire(100 + 39);
    expect([list[0].lingeringConns, list[1].lingeringConns]).toEqual([0, 60]);
    ring.expire(300 + 29);
    expect([list[1].lingeringConns, ring.lingering]).toEqual([30, 30]);
    ring.expire(300 + 59);
    expect([list[1].lingeringConns, ring.lingering]).toEqual([0, 0]);
  });

  it('refuses a negative or non-finite linger, naming it (directly and through the service option)', () => {
    for (const endLingerMs of [-1, Number.NaN, Infinity]) {
      expect(() => new EndLingerRing(members([1]), endLingerMs)).toThrow(/conn\.endLingerMs.*expected a time >= 0/);
      expect(() => new LbService(members([1]), { scheduler: 'lc', endLingerMs })).toThrow(/conn\.endLingerMs.*expected a time >= 0/);
    }
  });

  it('an end reported with an earlier time after every end has expired counts until its own time + lingerMs (no expired end holds it)', () => {
    const list = members([1]);
    const ring = new EndLingerRing(list, 100);
    ring.add(0, 1000);
    ring.expire(1100);
    expect(ring.lingering).toBe(0);
    ring.add(0, 500);
    ring.expire(599);
    expect([list[0].lingeringConns, ring.lingering]).toEqual([1, 1]);
    ring.expire(600);
    expect([list[0].lingeringConns, ring.lingering]).toEqual([0, 0]);
  });

  it('after the clock steps back past expired ends, a second end is held by the newest lingering one only (no expired slot)', () => {
    const list = members([1]);
    const ring = new EndLingerRing(list, 100);
    // 64 ends fill the first ring exactly and expire: every slot keeps an old time of 10,000 or more.
    for (let i = 0; i < 64; i++) ring.add(0, 10_000 + i);
    ring.expire(20_000);
    expect(ring.lingering).toBe(0);
    // The clock stepped back: two ends at 100 and 150 count until 200 and 250, whatever the slots held before.
    ring.add(0, 100);
    ring.add(0, 150);
    ring.expire(200);
    expect([list[0].lingeringConns, ring.lingering]).toEqual([1, 1]);
    ring.expire(250);
    expect([list[0].lingeringConns, ring.lingering]).toEqual([0, 0]);
  });
});
