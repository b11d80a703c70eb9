import { endCensus, formatCopyFate, parseCoverageCount, parseEndCopyMeter, type CopyCounters } from '../lib/copy-fate';

// ovs-ofctl -O OpenFlow13 meter-stats of OVS 3.3.9 (the bench's lab, 2026-12-07), with a second meter after it.
const STATS = `OFPST_METER reply (OF1.3) (xid=0x2):
meter:2780 flow_count:0 packet_in_count:16256 byte_in_count:1072704 duration:38.043s bands:
0: packet_count:17 byte_count:1122

meter:7 flow_count:1 packet_in_count:99 byte_in_count:5000 duration:38.043s bands:
0: packet_count:3 byte_count:200
`;

describe('copy fate', () => {
  it('reads the end-copy meter (id 0xadc = 2780) and not another one', () => {
    expect(parseEndCopyMeter(STATS)).toEqual({ in: 16256, dropped: 17 });
    expect(parseEndCopyMeter('OFPST_METER reply (OF1.3) (xid=0x2):\nmeter:7 flow_count:1 packet_in_count:99 byte_in_count:5000 duration:1s bands:\n0: packet_count:3 byte_count:200\n'))
      .toBeNull();
  });

  it('says so when the meter line has no counters', () => {
    expect(() => parseEndCopyMeter('meter:2780 flow_count:0 duration:1s')).toThrow(/end-copy meter's counters not found/);
  });

  it('reads a coverage counter, and refuses a reply that is no number', () => {
    expect(parseCoverageCount('rconn_overflow', '42\n')).toBe(42);
    expect(() => parseCoverageCount('rconn_overflow', 'No such counter')).toThrow(/rconn_overflow: expected a number/);
  });

  it('splits the copies between the meter, the queues and vadc', () => {
    const before: CopyCounters = { meterIn: 100, meterDropped: 2, connQueueDropped: 5, asyncQueueDropped: 0, received: 90 };
    const after: CopyCounters = { meterIn: 6300, meterDropped: 12, connQueueDropped: 9, asyncQueueDropped: 1, received: 6270 };
    expect(formatCopyFate(before, after)).toBe('end copies: met the meter 6200, its band dropped 10, passed 6190; vadc counted 6180 (unaccounted 10); '
      + 'ovs-vswitchd dropped packet-ins (copies or decisions): controller queue 4, async queue 1');
    const none = { ...before, meterIn: null, meterDropped: null };
    expect(formatCopyFate(none, { ...after, meterIn: null, meterDropped: null })).toMatch(/^end copies: no end-copy meter; vadc counted 6180;/);
  });

  it('counts ended, half-closed and open entries, the stale ones apart', () => {
    const now = 100_000;
    const entries = [
      { ended: true, closing: false, lastSeen: 1 },
      { ended: false, closing: true, lastSeen: now - 6000 },
      { ended: false, closing: true, lastSeen: now - 100 },
      { ended: false, closing: false, lastSeen: now - 5001 },
      { ended: false, closing: false, lastSeen: now - 5000 },
    ];
    expect(endCensus(entries, now, 5000)).toBe("vadc's table: 1 ended, 2 half-closed (1 for over 5 s), 2 with no end seen (1 for over 5 s)");
  });
});
