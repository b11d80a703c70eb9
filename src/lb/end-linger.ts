import { Backend } from './backend';
import { LbInputError } from './errors';
import { TimeRing } from './time-ring';

/**
 * How long an ended TCP connection still counts in its backend's least-connection overhead (ms), as IPVS keeps a
 * closed connection in TIME_WAIT (2 min) or CLOSE (10 s) and counts it inactive. vadc's figure is 1 s: long enough
 * that equal members are told apart by the work they just did (tens of ends at tens of connections a second, where
 * a count of the open ones alone ties at zero and the first member wins every tie), short enough that below 256
 * ends a second per member one open connection still outweighs them, as IPVS's 256 intends. With IPVS's 2 min a
 * member ending 100 connections a second carries 12,000: lc then balances arrivals over two minutes, not the load
 * now, and a member that recovers or joins takes every new connection until its count catches up
 * (docs/schedulers.md).
 */
export const DEFAULT_END_LINGER_MS = 1000;

/**
 * Ended connections still lingering, oldest first (a ring: ends come in time order): each one's backend (an index
 * into the connection table's backend list) and when it stops counting. Kept apart from the table's slots, so the
 * datapath may forget a connection before its linger is over; bounded by the end rate times the linger time. Keeps
 * each backend's lingeringConns in step.
 */
export class EndLingerRing {
  readonly lingerMs: number;
  /** Each lingering connection's backend index, at the time it stops counting. */
  private readonly ring = new TimeRing();

  /** `backends`: the list the indices given to add() point into (the table appends to it; the ring only reads). */
  constructor(private readonly backends: readonly Backend[], lingerMs = DEFAULT_END_LINGER_MS) {
    this.lingerMs = lingerMs;
    if (!(this.lingerMs >= 0 && Number.isFinite(this.lingerMs))) {
      throw new LbInputError('conn.endLingerMs', `expected a time >= 0 in ms, got ${this.lingerMs}`);
    }
  }

  /** Ended connections lingering now (counted in some backend's overhead). */
  get lingering(): number {
    return this.ring.size;
  }

  /** A connection on backends[backendIndex] ended at `now`: it counts until now + lingerMs (nothing if 0). */
  add(backendIndex: number, now: number): void {
    if (this.lingerMs === 0) return;
    this.ring.push(backendIndex, now + this.lingerMs);
    this.backends[backendIndex].lingeringConns++;
  }

  /** Ended connections whose linger is over at `now` stop counting; O(1) per connection that stops lingering. */
  expire(now: number): void {
    while (this.ring.oldestAt() <= now) this.backends[this.ring.shift()].lingeringConns--;
  }
}
