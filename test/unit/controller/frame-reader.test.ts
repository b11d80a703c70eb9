import { FrameReader } from '../../../src/controller/frame-reader';

function frame(type: number, body: number[], xid = 1, version = 4): Buffer {
  const buf = Buffer.alloc(8 + body.length);
  buf.writeUInt8(version, 0);
  buf.writeUInt8(type, 1);
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(xid, 4);
  Buffer.from(body).copy(buf, 8);
  return buf;
}

describe('FrameReader', () => {
  const stream = Buffer.concat([frame(0, [1, 2, 3], 10), frame(2, [], 11), frame(13, [9, 9, 9, 9, 9, 9, 9, 9, 9], 12)]);

  it('yields the same frames whatever the split offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader(0xffff);
      const got = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(got.map((r) => (r.ok ? [r.frame.type, r.frame.xid, r.frame.length] : r.reason))).toEqual([
        [0, 10, 11], [2, 11, 8], [13, 12, 17],
      ]);
      expect(reader.pendingBytes).toBe(0);
    }
  });

  it('counts pending bytes while frames are handed out and keeps the partial tail for the next chunk', () => {
    const whole = new FrameReader(0xffff);
    const seen: number[] = [];
    for (const result of whole.read(stream)) {
      expect(result.ok).toBe(true);
      seen.push(whole.pendingBytes);
    }
    // After the first, second and third frame: the bytes of the frames not yet handed out.
    expect(seen).toEqual([25, 17, 0]);
    const reader = new FrameReader(0xffff);
    const first = [...reader.read(stream.subarray(0, 20))];
    expect([first.length, reader.pendingBytes]).toEqual([2, 1]); // frames of 11 and 8 bytes, 1 byte of the third
    expect(reader.push(stream.subarray(20)).map((r) => (r.ok ? r.frame.xid : r.reason))).toEqual([12]);
  });

  it('keeps the frames not yet read when the consumer stops early', () => {
    const reader = new FrameReader(0xffff);
    for (const result of reader.read(stream)) {
      expect(result.ok && result.frame.xid).toBe(10);
      break;
    }
    expect(reader.pendingBytes).toBe(25);
    expect(reader.push(Buffer.alloc(0)).map((r) => (r.ok ? r.frame.xid : r.reason))).toEqual([11, 12]);
  });

  it('forEachFrame gives the frames read() gives, for every split, and stops when told to', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const byCallback = new FrameReader(0xffff);
      const got: number[] = [];
      for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
        byCallback.forEachFrame(part, (r) => {
          got.push(r.ok ? r.frame.xid : -1);
          return true;
        });
      }
      expect([cut, ...got]).toEqual([cut, 10, 11, 12]);
      expect(byCallback.pendingBytes).toBe(0);
    }
    const stopping = new FrameReader(0xffff);
    const first: number[] = [];
    stopping.forEachFrame(stream, (r) => {
      first.push(r.ok ? r.frame.xid : -1);
      return false;
    });
    expect([first, stopping.pendingBytes]).toEqual([[10], 25]);
    expect(stopping.push(Buffer.alloc(0)).map((r) => (r.ok ? r.frame.xid : r.reason))).toEqual([11, 12]);
  });

  it('yields the same frames for three chunks cut at every two offsets, and reads a chunk after a cut frame where it lies', () => {
    const xids = (results: ReturnType<FrameReader['push']>) => results.map((r) => (r.ok ? r.frame.xid : r.reason));
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const reader = new FrameReader(0xffff);
        const got = [a, b, ...xids(reader.push(stream.subarray(0, a))), ...xids(reader.push(stream.subarray(a, b))), ...xids(reader.push(stream.subarray(b)))];
        expect(got).toEqual([a, b, 10, 11, 12]);
        expect(reader.pendingBytes).toBe(0);
      }
    }
    // The first frame cut after 5 bytes: it is made whole from the second chunk's first 6; the frames after it are views
    // of that chunk (its bytes not copied), and a reader stopping after the cut frame keeps the chunk's rest pending.
    const reader = new FrameReader(0xffff);
    expect(reader.push(stream.subarray(0, 5))).toEqual([]);
    // Memory of its own (not Node's shared pool, where the joined frame is cut from too).
    const second = Buffer.allocUnsafeSlow(stream.length - 5);
    stream.copy(second, 0, 5);
    const frames = reader.push(second);
    expect(frames.map((r) => r.ok && [r.frame.xid, r.frame.bytes.buffer === second.buffer])).toEqual([[10, false], [11, true], [12, true]]);
    const stopping = new FrameReader(0xffff);
    stopping.push(stream.subarray(0, 5));
    const first: number[] = [];
    stopping.forEachFrame(second, (r) => {
      first.push(r.ok ? r.frame.xid : -1);
      return false;
    });
    expect([first, stopping.pendingBytes]).toEqual([[10], 25]);
    expect(xids(stopping.push(stream.subarray(0, 3)))).toEqual([11, 12]);
    expect(stopping.pendingBytes).toBe(3);
  });

  it('reports a lying length at once and then reads nothing more', () => {
    const reader = new FrameReader(0xffff);
    const bad = Buffer.from([4, 2, 0, 5, 0, 0, 0, 7]);
    const results = reader.push(Buffer.concat([frame(0, [], 3), bad, frame(2, [])]));
    expect(results).toHaveLength(2);
    expect(results[1]).toEqual({ ok: false, problem: 'bad_length', reason: 'length 5 is shorter than the 8-byte header', header: bad, xid: 7 });
    expect(reader.push(frame(2, []))).toEqual([]);
  });

  it('enforces its size limit from the header alone', () => {
    const reader = new FrameReader(1024);
    const [result] = reader.push(Buffer.from([4, 0, 0x10, 0, 0, 0, 0, 1]));
    expect(result).toMatchObject({ ok: false, problem: 'bad_length', reason: 'length 4096 exceeds the 1024-byte limit' });
  });

  it('once a version is required, refuses another as soon as the header arrives', () => {
    const reader = new FrameReader(0xffff);
    expect(reader.push(frame(0, [], 1, 1))).toMatchObject([{ ok: true, frame: { version: 1 } }]);
    reader.requireVersion(4);
    const [result] = reader.push(Buffer.from('GET / HTTP/1.1\r\n'));
    expect(result).toMatchObject({ ok: false, problem: 'bad_version', reason: 'version 0x47 after negotiating 0x4' });
  });

  it('refuses a first message other than hello from its header alone', () => {
    const reader = new FrameReader(0xffff);
    const [result] = reader.push(Buffer.from('\x00\x01garbage'));
    expect(result).toMatchObject({ ok: false, problem: 'not_hello', reason: 'first message is type 1 (version 0x0), not hello' });
  });
});
