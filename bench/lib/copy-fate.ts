// Where connection-end copies (datapath.end_copies) go between the switch and vadc, per run: the copies that met
// vadc's meter, those its band dropped, the packet-ins ovs-vswitchd dropped on its two queues (any packet-in: a copy or
// a decision) and the copies vadc counted. Pure parsing and arithmetic; the bench reads the counters.
import { END_COPY_METER_ID } from '../../src/flows/end-copies';

/** The counters read at one moment. */
export interface CopyCounters {
  /** Packets that met the end-copy meter (`ovs-ofctl meter-stats`: packet_in_count), null: no such meter. */
  meterIn: number | null;
  /** Of those, dropped by its band (the rate limit). */
  meterDropped: number | null;
  /** ovs-vswitchd's coverage counter rconn_overflow: packet-ins dropped because the controller connection's queue
   *  held `controller_queue_size` (100 by default) unsent ones. */
  connQueueDropped: number;
  /** packet_in_overflow: packet-ins dropped before the connection manager (ofproto's async queue, 1024). */
  asyncQueueDropped: number;
  /** vadc's count of end copies received (its services' endCopies). */
  received: number;
}

/** meter-stats' line of the end-copy meter: `meter:2780 ... packet_in_count:N ...` then its band `0: packet_count:N`. */
export function parseEndCopyMeter(text: string): { in: number; dropped: number } | null {
  const flat = text.replace(/\s+/g, ' ');
  const at = flat.indexOf(`meter:${END_COPY_METER_ID} `);
  if (at < 0) return null;
  const rest = flat.slice(at);
  const next = rest.indexOf(' meter:', 1);
  const own = next < 0 ? rest : rest.slice(0, next);
  const packetsIn = /packet_in_count:(\d+)/.exec(own);
  const band = /bands: 0: packet_count:(\d+)/.exec(own);
  if (!packetsIn || !band) throw new Error(`meter-stats: the end-copy meter's counters not found in ${JSON.stringify(own)}`);
  return { in: Number(packetsIn[1]), dropped: Number(band[1]) };
}

/** `ovs-appctl coverage/read-counter NAME`'s reply: one number. */
export function parseCoverageCount(name: string, text: string): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim())) throw new Error(`coverage/read-counter ${name}: expected a number, got ${JSON.stringify(text)}`);
  return n;
}

/** The change between two readings, as one line. Copies that met the meter but vadc did not count are "unaccounted". */
export function formatCopyFate(before: CopyCounters, after: CopyCounters): string {
  const received = after.received - before.received;
  const conn = after.connQueueDropped - before.connQueueDropped;
  const async = after.asyncQueueDropped - before.asyncQueueDropped;
  const queues = `ovs-vswitchd dropped packet-ins (copies or decisions): controller queue ${conn}, async queue ${async}`;
  if (before.meterIn === null || after.meterIn === null) return `end copies: no end-copy meter; vadc counted ${received}; ${queues}`;
  const met = after.meterIn - before.meterIn;
  const dropped = after.meterDropped! - before.meterDropped!;
  const passed = met - dropped;
  return `end copies: met the meter ${met}, its band dropped ${dropped}, passed ${passed}; vadc counted ${received} `
    + `(unaccounted ${passed - received}); ${queues}`;
}

/** What a connection entry says of its end (ConnEntry's fields). */
export interface EndSeen {
  ended: boolean;
  closing: boolean;
  lastSeen: number;
}

/**
 * vadc's table after a run: entries ended, half-closed (one side's FIN seen) and with no end seen, the last two split by
 * whether their last sign is older than `staleMs`. The bench's connections close at once, so a half-closed entry that old
 * is a copy that never came (or came for no entry) and an open one that old had both lost, or never established.
 */
export function endCensus(entries: Iterable<EndSeen>, now: number, staleMs: number): string {
  let ended = 0;
  let closing = 0;
  let staleClosing = 0;
  let open = 0;
  let staleOpen = 0;
  for (const e of entries) {
    const stale = now - e.lastSeen > staleMs;
    if (e.ended) ended++;
    else if (e.closing) { closing++; if (stale) staleClosing++; } else { open++; if (stale) staleOpen++; }
  }
  return `vadc's table: ${ended} ended, ${closing} half-closed (${staleClosing} for over ${staleMs / 1000} s), ${open} with no end seen `
    + `(${staleOpen} for over ${staleMs / 1000} s)`;
}
