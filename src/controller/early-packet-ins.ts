// Packet-ins a switch sends before its session is up. OVS sends packet-ins on a controller connection as soon as the
// hellos are exchanged, while vadc still asks for the features and the port table; a switch that kept its flows (vadc
// restarted, or reconnected after a silent failure) sends a new connection's SYN up at once. Dropped there, the client
// waited for its SYN retransmit (1 s, Linux's initial RTO); kept here, they reach the controller right after the
// switch is up, behind the app's connect batch, as if they had come then. Pure: every input takes `now`.
import type { PacketIn } from '../openflow/types';

/** At most `maxCount` kept, none older than `maxAgeMs` when handed over: an older SYN was retransmitted already. */
export const EARLY_PACKET_IN_BOUNDS = { maxCount: 512, maxAgeMs: 1000 } as const;

/** What the session hands over at `up`, and what it let go. */
export interface EarlyTake {
  fresh: PacketIn[];
  /** Older than maxAgeMs at the take. */
  tooOld: number;
  /** Pushed out by newer ones (maxCount). */
  dropped: number;
}

export class EarlyPacketIns {
  private held: Array<{ msg: PacketIn; at: number }> = [];
  private dropped = 0;

  constructor(private readonly bounds: { maxCount: number; maxAgeMs: number } = EARLY_PACKET_IN_BOUNDS) {}

  get size(): number {
    return this.held.length;
  }

  push(msg: PacketIn, now: number): void {
    if (this.held.length >= this.bounds.maxCount) {
      this.held.shift();
      this.dropped++;
    }
    // The frame is a view into the socket's read buffer, reused once this read is done: a copy of its bytes.
    const data = Buffer.alloc(msg.data.length);
    msg.data.copy(data);
    this.held.push({ msg: { ...msg, data }, at: now });
  }

  /** Empties the list: the packet-ins no older than maxAgeMs at `now`, in arrival order, and the counts of the others. */
  take(now: number): EarlyTake {
    const fresh = this.held.filter((h) => now - h.at <= this.bounds.maxAgeMs).map((h) => h.msg);
    const taken = { fresh, tooOld: this.held.length - fresh.length, dropped: this.dropped };
    this.held = [];
    this.dropped = 0;
    return taken;
  }
}
