// A ring of (value, time) pairs in time order, oldest first: what ended connections leave behind until a time passes
// (end-linger.ts: a backend's overhead; conn-table.ts: the entries the datapath lets go). Typed arrays, no object per
// pair; it doubles as it fills, so it holds what came within the time it keeps (a rate times that time).

export class TimeRing {
  private values = new Uint32Array(64);
  private times = new Float64Array(64);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * Adds `value` at time `at`, never before the newest (a time reported earlier than the last one keeps the ring in
   * time order: it leaves with the newest).
   */
  push(value: number, at: number): void {
    let size = this.times.length;
    if (this.count === size) {
      // Twice the ring, oldest first from index 0.
      const values = new Uint32Array(size * 2);
      const times = new Float64Array(size * 2);
      for (let i = 0; i < size; i++) {
        values[i] = this.values[(this.head + i) % size];
        times[i] = this.times[(this.head + i) % size];
      }
      this.values = values;
      this.times = times;
      this.head = 0;
      size *= 2;
    }
    const tail = (this.head + this.count) % size;
    const newest = this.count > 0 ? this.times[(tail + size - 1) % size] : -Infinity;
    this.values[tail] = value;
    this.times[tail] = Math.max(at, newest);
    this.count++;
  }

  /** The oldest pair's time (Infinity: empty). */
  oldestAt(): number {
    return this.count > 0 ? this.times[this.head] : Infinity;
  }

  /** Takes the oldest pair out; returns its value (call only when size > 0). */
  shift(): number {
    const value = this.values[this.head];
    this.head = (this.head + 1) % this.times.length;
    this.count--;
    return value;
  }
}
