import { EarlyPacketIns } from '../../../src/controller/early-packet-ins';
import type { PacketIn } from '../../../src/openflow/types';

const packetIn = (fill: number): PacketIn => ({
  type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: 4, reason: 0, tableId: 1, cookie: 0n, match: [], data: Buffer.alloc(4, fill),
});

describe('EarlyPacketIns (packet-ins of the handshake)', () => {
  it('hands over the young ones in arrival order, counts the old and the pushed out, and keeps copies of the bytes', () => {
    const early = new EarlyPacketIns({ maxCount: 3, maxAgeMs: 1000 });
    const frame = packetIn(1);
    early.push(frame, 0);
    frame.data.fill(9); // the socket's read buffer reused
    for (const [fill, at] of [[2, 100], [3, 900], [4, 1200]]) early.push(packetIn(fill), at);
    expect(early.size).toBe(3);
    const taken = early.take(1500);
    expect(taken.fresh.map((m) => m.data[0])).toEqual([3, 4]);
    expect(taken).toMatchObject({ tooOld: 1, dropped: 1 });
    expect(early.take(1500)).toEqual({ fresh: [], tooOld: 0, dropped: 0 });
  });

  it('keeps its copy when the frame it came in is overwritten', () => {
    const early = new EarlyPacketIns();
    const frame = packetIn(5);
    early.push(frame, 0);
    frame.data.fill(0);
    expect(early.take(10).fresh[0].data[0]).toBe(5);
  });
});
