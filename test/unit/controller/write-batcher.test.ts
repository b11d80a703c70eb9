import { EventEmitter } from 'node:events';
import { WriteBatcher, WritableSink } from '../../../src/controller/write-batcher';

/** A sink that accepts `capacity` bytes, then refuses until drained by the test. */
class FakeSink extends EventEmitter implements WritableSink {
  writes: Buffer[] = [];
  writableLength = 0;
  constructor(private readonly capacity: number) {
    super();
  }
  /** The write calls between a cork() and its uncork() (one system call), and every other write call alone. */
  calls: number[] = [];
  private corked = false;
  /** Each write's callback, held: the test calls them when it lets the "kernel" have the bytes. */
  callbacks: ((err?: Error | null) => void)[] = [];
  write(chunk: Buffer, done?: (err?: Error | null) => void): boolean {
    this.writes.push(chunk);
    if (done) this.callbacks.push(done);
    if (this.corked) this.calls[this.calls.length - 1]++;
    else this.calls.push(1);
    this.writableLength += chunk.length;
    return this.writableLength < this.capacity;
  }
  cork(): void {
    this.corked = true;
    this.calls.push(0);
  }
  uncork(): void {
    this.corked = false;
  }
  drain(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('WriteBatcher', () => {
  it('writes everything enqueued in one turn as one buffer, in order', async () => {
    const sink = new FakeSink(1 << 20);
    const batcher = new WriteBatcher(sink, { maxQueuedBytes: 1 << 20, onOverflow: () => undefined });
    batcher.enqueue(Buffer.from('flow1'));
    batcher.enqueue(Buffer.from('flow2'));
    batcher.enqueue(Buffer.from('out'));
    expect(sink.writes).toHaveLength(0);
    await tick();
    expect(sink.writes.map(String)).toEqual(['flow1flow2out']);
    expect(batcher.totalBytesWritten).toBe(13);
  });

  it('writes chunks that lie back to back in one memory as one view of it, and copies chunks that do not', async () => {
    // Memory of its own (not Node's shared pool, where the copy would be cut from too).
    const memory = Buffer.allocUnsafeSlow(18);
    memory.write('flow1flow2out+rest');
    const sink = new FakeSink(1 << 20);
    const batcher = new WriteBatcher(sink, { maxQueuedBytes: 1 << 20, onOverflow: () => undefined });
    batcher.enqueue(memory.subarray(0, 5));
    batcher.enqueue(memory.subarray(5, 10));
    batcher.enqueue(memory.subarray(10, 13));
    await tick();
    // Two runs (a gap: byte 13 left out): a view of each, in order.
    batcher.enqueue(memory.subarray(5, 10));
    batcher.enqueue(memory.subarray(10, 13));
    batcher.enqueue(memory.subarray(14, 18));
    await tick();
    // Three runs (the last from another memory): one copy, in order.
    batcher.enqueue(memory.subarray(0, 5));
    batcher.enqueue(memory.subarray(14, 18));
    batcher.enqueue(Buffer.from('flow1'));
    await tick();
    expect(sink.writes.map(String)).toEqual(['flow1flow2out', 'flow2out', 'rest', 'flow1restflow1']);
    expect(sink.writes.slice(0, 3).map((w) => [w.buffer === memory.buffer, w.byteOffset - memory.byteOffset])).toEqual([[true, 0], [true, 5], [true, 14]]);
    expect(sink.writes[3].buffer).not.toBe(memory.buffer);
    // The two views corked: one system call each flush.
    expect(sink.calls).toEqual([1, 2, 1]);
    expect(batcher.totalBytesWritten).toBe(13 + 12 + 14);
  });

  it('holds messages while the sink refuses and sends them after drain', async () => {
    const sink = new FakeSink(4);
    const states: boolean[] = [];
    const batcher = new WriteBatcher(sink, {
      maxQueuedBytes: 1000,
      onOverflow: () => undefined,
      onBackpressure: (blocked) => states.push(blocked),
    });
    batcher.enqueue(Buffer.from('first'));
    await tick();
    expect(batcher.isBlocked).toBe(true);
    batcher.enqueue(Buffer.from('second'));
    await tick();
    expect(sink.writes.map(String)).toEqual(['first']);
    expect(batcher.queuedBytes).toBe(11);
    sink.drain();
    expect(sink.writes.map(String)).toEqual(['first', 'second']);
    expect(states).toEqual([true, false, true]);
  });

  it('reports overflow once when queued bytes pass the bound, then drops', async () => {
    const sink = new FakeSink(4);
    const overflows: number[] = [];
    const batcher = new WriteBatcher(sink, { maxQueuedBytes: 20, onOverflow: (n) => overflows.push(n) });
    batcher.enqueue(Buffer.alloc(10));
    await tick();
    batcher.enqueue(Buffer.alloc(8));
    batcher.enqueue(Buffer.alloc(8));
    batcher.enqueue(Buffer.alloc(8));
    expect(overflows).toEqual([26]);
    sink.drain();
    expect(sink.writes).toHaveLength(1);
  });

  it('flush() writes at once and close() drops the rest', () => {
    const sink = new FakeSink(100);
    const batcher = new WriteBatcher(sink, { maxQueuedBytes: 100, onOverflow: () => undefined });
    batcher.enqueue(Buffer.from('bye'));
    batcher.flush();
    batcher.enqueue(Buffer.from('lost'));
    batcher.close();
    batcher.enqueue(Buffer.from('after'));
    expect(sink.writes.map(String)).toEqual(['bye']);
  });

  describe('releases slab messages (a chunk with a memoryOwner, as src/flows/memory-view.ts cuts them)', () => {
    /** A chunk of its own memory whose owner counts its releases. */
    function owned(text: string): { chunk: Buffer; releases: () => number } {
      let n = 0;
      const chunk = Buffer.from(text);
      Object.assign(chunk, { memoryOwner: { release: () => n++ } });
      return { chunk, releases: () => n };
    }

    it('only in the write callback, once each, not when write() returns', async () => {
      const sink = new FakeSink(1 << 20);
      const batcher = new WriteBatcher(sink, { maxQueuedBytes: 1 << 20, onOverflow: () => undefined });
      const a = owned('flow1');
      const b = owned('flow2');
      batcher.enqueue(a.chunk);
      batcher.enqueue(Buffer.from('plain'));
      batcher.enqueue(b.chunk);
      await tick();
      // Written (a copy here: three memories), callback not yet called: still the batcher's.
      expect(sink.writes.map(String)).toEqual(['flow1plainflow2']);
      expect([a.releases(), b.releases()]).toEqual([0, 0]);
      await tick();
      expect([a.releases(), b.releases()]).toEqual([0, 0]);
      expect(sink.callbacks).toHaveLength(1);
      sink.callbacks[0]();
      expect([a.releases(), b.releases()]).toEqual([1, 1]);
      // A second callback (a stream that misbehaves) releases nothing again.
      sink.callbacks[0]();
      expect([a.releases(), b.releases()]).toEqual([1, 1]);
    });

    it('batch by batch in the order written, each in its own write\'s callback, never early; batches reused', async () => {
      const sink = new FakeSink(1 << 20);
      const batcher = new WriteBatcher(sink, { maxQueuedBytes: 1 << 20, onOverflow: () => undefined });
      const flushes = [['a1', 'a2'], ['b1'], ['c1', 'c2', 'c3']].map((texts) => texts.map(owned));
      for (const flush of flushes) {
        for (const m of flush) batcher.enqueue(m.chunk);
        batcher.flush();
      }
      const released = () => flushes.map((flush) => flush.map((m) => m.releases()).join(''));
      // Two views corked, one chunk, one copy: one callback a flush.
      expect(sink.writes.map(String).join('')).toBe('a1a2b1c1c2c3');
      expect(sink.callbacks).toHaveLength(3);
      expect(released()).toEqual(['00', '0', '000']);
      sink.callbacks[0]();
      expect(released()).toEqual(['11', '0', '000']);
      sink.callbacks[1]();
      expect(released()).toEqual(['11', '1', '000']);
      // A batch reused after its release: the next flush's chunks are not released by an older callback.
      const d = owned('d1');
      batcher.enqueue(d.chunk);
      batcher.flush();
      expect(sink.writes.map(String).at(-1)).toBe('d1');
      sink.callbacks[2]();
      expect([...released(), String(d.releases())]).toEqual(['11', '1', '111', '0']);
      sink.callbacks[3]();
      expect(d.releases()).toBe(1);
    });

    it('after the last of two corked writes, and also when the write failed', async () => {
      const memory = Buffer.allocUnsafeSlow(10);
      memory.write('flow1flow2');
      const first = memory.subarray(0, 5);
      let released = 0;
      Object.assign(first, { memoryOwner: { release: () => released++ } });
      const sink = new FakeSink(1 << 20);
      const batcher = new WriteBatcher(sink, { maxQueuedBytes: 1 << 20, onOverflow: () => undefined });
      batcher.enqueue(first);
      batcher.enqueue(Buffer.from('other'));
      await tick();
      expect(sink.calls).toEqual([2]);
      // Only the last write carries the callback: the first view is done no later than it.
      expect(sink.callbacks).toHaveLength(1);
      expect(released).toBe(0);
      sink.callbacks[0](new Error('EPIPE'));
      expect(released).toBe(1);
    });

    it('plain chunks get no callback; chunks dropped unwritten (close, overflow) are released at once', async () => {
      const sink = new FakeSink(4);
      const batcher = new WriteBatcher(sink, { maxQueuedBytes: 100, onOverflow: () => undefined });
      batcher.enqueue(Buffer.from('plain'));
      await tick();
      expect(sink.writes).toHaveLength(1);
      expect(sink.callbacks).toHaveLength(0);
      // Blocked now: these wait here, then close() drops them.
      const a = owned('waiting');
      batcher.enqueue(a.chunk);
      await tick();
      expect(a.releases()).toBe(0);
      batcher.close();
      expect(a.releases()).toBe(1);
      expect(sink.writes).toHaveLength(1);

      const sink2 = new FakeSink(4);
      const batcher2 = new WriteBatcher(sink2, { maxQueuedBytes: 10, onOverflow: () => undefined });
      const b = owned('12345678');
      batcher2.enqueue(b.chunk);
      expect(b.releases()).toBe(0);
      batcher2.enqueue(Buffer.alloc(8));
      expect(b.releases()).toBe(1);
      await tick();
      expect(sink2.writes).toHaveLength(0);
    });
  });
});
