import { EventEmitter } from 'node:events';
import { WriteBatcher, WritableSink } from '../../../src/controller/write-batcher';

/** A sink that accepts `capacity` bytes, then refuses until drained by the test. */
class FakeSink extends EventEmitter implements WritableSink {
  writes: Buffer[] = [];
  writableLength = 0;
  constructor(private readonly capacity: number) {
    super();
  }
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    this.writableLength += chunk.length;
    return this.writableLength < this.capacity;
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
});
