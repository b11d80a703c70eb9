// A standby's held packet-ins (controller HA): the ring's two bounds, and the replay decision at a takeover.
import { PacketInRing, REPLAY_CLIENTS_LISTED, replayHeld } from '../../../src/controller/packet-in-ring';
import type { PacketIn } from '../../../src/openflow/types';

const pin = (n: number): PacketIn => ({ type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: 2, reason: 0, tableId: 0, cookie: 0n, match: [], data: Buffer.from([n >> 8, n & 0xff]) });
const idOf = (m: PacketIn) => (m.data[0] << 8) | m.data[1];

describe('PacketInRing', () => {
  it('hands over what it holds in arrival order, once', () => {
    const ring = new PacketInRing({ maxCount: 8, maxAgeMs: 1000 });
    for (let i = 0; i < 5; i++) ring.push(pin(i), 100 + i);
    const taken = ring.take(200);
    expect(taken.fresh.map((h) => idOf(h.msg))).toEqual([0, 1, 2, 3, 4]);
    expect(taken.fresh.map((h) => h.at)).toEqual([100, 101, 102, 103, 104]);
    expect(taken).toMatchObject({ tooOld: 0, dropped: 0 });
    expect(ring.take(201)).toEqual({ fresh: [], tooOld: 0, dropped: 0 });
  });

  it("holds a copy of each frame's bytes, not a view that would pin the socket's read buffer", () => {
    const ring = new PacketInRing({ maxCount: 8, maxAgeMs: 1000 });
    const readBuffer = Buffer.alloc(65536, 7);
    ring.push({ ...pin(0), data: readBuffer.subarray(100, 102) }, 0);
    const held = ring.take(1).fresh[0].msg.data;
    expect([...held]).toEqual([7, 7]);
    expect(held.buffer).not.toBe(readBuffer.buffer);
    expect(held.buffer.byteLength).toBe(2);
  });

  it('keeps at most maxCount: the oldest go first and are counted', () => {
    const ring = new PacketInRing({ maxCount: 3, maxAgeMs: 1000 });
    for (let i = 0; i < 7; i++) ring.push(pin(i), 10);
    expect(ring.size).toBe(3);
    const taken = ring.take(10);
    expect(taken.fresh.map((h) => idOf(h.msg))).toEqual([4, 5, 6]);
    expect(taken.dropped).toBe(4);
  });

  it('lets go of what is older than maxAgeMs, when pushing and when taken', () => {
    const ring = new PacketInRing({ maxCount: 100, maxAgeMs: 1000 });
    ring.push(pin(1), 0);
    ring.push(pin(2), 500);
    ring.push(pin(3), 1200); // 1 is 1200 ms old now: gone
    expect(ring.size).toBe(2);
    const taken = ring.take(1600); // 2 is 1100 ms old
    expect(taken.fresh.map((h) => idOf(h.msg))).toEqual([3]);
    expect(taken.tooOld).toBe(1);
    // exactly maxAgeMs old is still young enough
    ring.push(pin(4), 2000);
    expect(ring.take(3000).fresh).toHaveLength(1);
  });

  it('stays bounded over a long standby life (wraps around)', () => {
    const ring = new PacketInRing({ maxCount: 16, maxAgeMs: 50 });
    for (let t = 0; t < 10_000; t++) ring.push(pin(t % 60000), t);
    expect(ring.size).toBe(16);
    const taken = ring.take(9_999);
    expect(taken.fresh.map((h) => h.at)).toEqual(Array.from({ length: 16 }, (_, i) => 9_984 + i));
  });

  it('once held for a replay, ages its packet-ins as of the hold, however late the replay comes', () => {
    // A SIGSTOP takeover at load ~8 (2026-12-06): MASTER at 5,500, the restore's reading done and the replay at 7,592.
    const ring = new PacketInRing({ maxCount: 100, maxAgeMs: 1000 });
    ring.push(pin(1), 4400); // older than 1 s at the mastership: retransmitted before it (the retransmission is held too)
    ring.push(pin(2), 4600); // the gap's SYN, 0.9 s old at the mastership
    ring.push(pin(3), 5400); // its retransmission's time, say
    ring.holdFrom(5500);
    ring.push(pin(4), 6200); // during the hold: a push after 1 s must not let 2 and 3 go
    ring.push(pin(5), 7000);
    const taken = ring.take(7592);
    expect(taken.fresh.map((h) => idOf(h.msg))).toEqual([2, 3, 4, 5]);
  });

  it('ages by the call time again after release (a demoted master is a standby) and after a take', () => {
    const ring = new PacketInRing({ maxCount: 100, maxAgeMs: 1000 });
    ring.holdFrom(0);
    ring.push(pin(1), 100);
    ring.release();
    ring.push(pin(2), 1500); // 1 is 1.4 s old now: gone
    expect(ring.take(1600).fresh.map((h) => idOf(h.msg))).toEqual([2]);
    ring.holdFrom(2000);
    ring.push(pin(3), 2100);
    ring.take(2200);
    ring.push(pin(4), 5000);
    ring.push(pin(5), 7000); // no hold left from before the take: 4 is 2 s old, gone
    expect(ring.take(7000).fresh.map((h) => idOf(h.msg))).toEqual([5]);
  });

  it('keeps the count bound while held', () => {
    const ring = new PacketInRing({ maxCount: 3, maxAgeMs: 1000 });
    ring.holdFrom(0);
    for (let i = 0; i < 5; i++) ring.push(pin(i), 10 * i);
    expect(ring.size).toBe(3);
    expect(ring.take(5000).fresh.map((h) => idOf(h.msg))).toEqual([2, 3, 4]);
  });

  it('refuses bounds that hold nothing', () => {
    expect(() => new PacketInRing({ maxCount: 0, maxAgeMs: 1000 })).toThrow(RangeError);
  });
});

describe('replayHeld', () => {
  it('answers the unknown ones in order, skips the known, and counts the too old and the dropped apart', () => {
    const ring = new PacketInRing({ maxCount: 4, maxAgeMs: 1000 });
    ring.push(pin(9), 0);
    for (const [n, at] of [[1, 600], [2, 700], [3, 800]]) ring.push(pin(n), at);
    ring.push(pin(4), 900); // full: 9 is pushed out (dropped)
    const answered: number[] = [];
    // at 1650, 1 (from 600) is too old
    const report = replayHeld(ring.take(1650), (m) => ({ known: idOf(m) === 3, client: `10.0.0.1:${idOf(m)}` }), (m) => answered.push(idOf(m)));
    expect(answered).toEqual([2, 4]);
    expect(report).toEqual({ replayed: 2, ends: 0, known: 1, tooOld: 1, dropped: 1, clients: ['10.0.0.1:2', '10.0.0.1:4'] });
  });

  it('counts what the count bound pushed out within the age bound before the takeover, not earlier', () => {
    const ring = new PacketInRing({ maxCount: 2, maxAgeMs: 1000 });
    for (let i = 0; i < 5; i++) ring.push(pin(i), 0); // 3 dropped at 0
    ring.push(pin(5), 3000); // the ones of 0 expire: nothing dropped
    ring.push(pin(6), 3001);
    expect(ring.take(3002)).toMatchObject({ dropped: 0, tooOld: 0 });
    // a standby that sees more than maxCount a second all the time: only the last second's drops count
    for (let t = 10_000; t < 20_000; t++) ring.push(pin(t % 1000), t);
    const taken = ring.take(19_999);
    expect(taken.dropped).toBeGreaterThanOrEqual(997);
    expect(taken.dropped).toBeLessThanOrEqual(1000 + 100);
  });

  it('replays connection-end copies (they end connections) and counts them apart', () => {
    const ring = new PacketInRing();
    for (let i = 0; i < 3; i++) ring.push(pin(i), 0);
    const answered: number[] = [];
    const report = replayHeld(ring.take(0), (m) => (idOf(m) === 1 ? { known: false, end: true } : { known: false, client: `c${idOf(m)}` }), (m) => answered.push(idOf(m)));
    expect(answered).toEqual([0, 1, 2]);
    expect(report).toEqual({ replayed: 2, ends: 1, known: 0, tooOld: 0, dropped: 0, clients: ['c0', 'c2'] });
  });

  it('lists the last REPLAY_CLIENTS_LISTED senders, and counts them all', () => {
    const ring = new PacketInRing({ maxCount: 100, maxAgeMs: 1000 });
    for (let i = 0; i < REPLAY_CLIENTS_LISTED + 5; i++) ring.push(pin(i), 0);
    const report = replayHeld(ring.take(0), (m) => ({ known: false, client: String(idOf(m)) }), () => undefined);
    expect(report.replayed).toBe(REPLAY_CLIENTS_LISTED + 5);
    expect(report.clients).toEqual(Array.from({ length: REPLAY_CLIENTS_LISTED }, (_, i) => String(i + 5)));
  });
});
