import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { makeCookie } from '../../src/flows/cookies';
import { frameKind, readWaits, watchReads, type Read } from '../lib/read-waits';

/** An OpenFlow 1.3 packet_in's first 24 bytes with `cookie`. */
function packetIn(cookie: bigint): Buffer {
  const b = Buffer.alloc(24);
  b[0] = 4;
  b[1] = 10;
  b.writeUInt16BE(24, 2);
  b.writeBigUInt64BE(cookie, 16);
  return b;
}

const us = (n: number) => BigInt(Math.round(n * 1000));

describe('read waits', () => {
  it('tells an end copy from a decision packet-in and from other messages', () => {
    expect(frameKind(10, packetIn(makeCookie('end', 3)))).toBe('copy');
    expect(frameKind(10, packetIn(makeCookie('service', 3)))).toBe('decision');
    expect(frameKind(10, packetIn(0n))).toBe('decision');
    expect(frameKind(19, packetIn(makeCookie('end', 3)))).toBe('other');
  });

  it('gives each decision its whole read and the copies\' part of it, and the read before when back to back', () => {
    const reads: Read[] = [
      // 100 us: a decision (20) and two copies (10 + 30).
      { startNs: us(0), endNs: us(100), frames: [{ kind: 'copy', ns: 10_000 }, { kind: 'decision', ns: 20_000 }, { kind: 'copy', ns: 30_000 }] },
      // Starts 10 us after: back to back; two decisions, no copy.
      { startNs: us(110), endNs: us(150), frames: [{ kind: 'decision', ns: 15_000 }, { kind: 'decision', ns: 15_000 }] },
      // Copies alone: no decision waits on it.
      { startNs: us(1000), endNs: us(1010), frames: [{ kind: 'copy', ns: 5_000 }] },
    ];
    const w = readWaits(reads);
    expect(w).toMatchObject({ reads: 3, decisions: 3, copies: 3, backToBack: 2 });
    expect(w.waitUs.max).toBe(100);
    expect(w.waitUs.mean).toBeCloseTo((100 + 40 + 40) / 3);
    expect(w.copyPartUs.max).toBe(40);
    expect(w.copyPartUs.mean).toBeCloseTo(40 / 3);
    expect(w.copiesInRead.mean).toBeCloseTo(2 / 3);
    expect(w.priorCopyPartUs.mean).toBe(40);
    expect(w.perFrameUs.copy.samples).toBe(3);
    expect(w.copyShare).toBeCloseTo(45 / 150);
  });

  it('times the frames of each read of a watched session, and puts its handler back', () => {
    const socket = new EventEmitter();
    const session = {
      onFrameResult: (_r: { ok: boolean; frame?: { type: number; bytes: Buffer } }) => true,
      onData(): void {
        this.onFrameResult({ ok: true, frame: { type: 10, bytes: packetIn(makeCookie('end', 1)) } });
        this.onFrameResult({ ok: true, frame: { type: 10, bytes: packetIn(0n) } });
      },
    };
    const original = session.onFrameResult;
    socket.on('data', () => session.onData());
    const watched = watchReads(session, socket as unknown as Socket);
    socket.emit('data', Buffer.alloc(0));
    socket.emit('data', Buffer.alloc(0));
    watched.stop();
    socket.emit('data', Buffer.alloc(0));
    expect(watched.reads.map((r) => r.frames.map((f) => f.kind))).toEqual([['copy', 'decision'], ['copy', 'decision']]);
    expect(watched.reads.every((r) => r.endNs >= r.startNs)).toBe(true);
    expect(session.onFrameResult).toBe(original);
  });
});
