// Matches the controller's answers to the packet-ins one emulated switch sent: a packet-in counts as ONE
// response once all its expected flow-mods (distinct ones) and its packet-out have arrived.
import { OFPFC_ADD, OFPFC_MODIFY, OFPFC_MODIFY_STRICT } from '../openflow';
import { HAS, ObservedTuple } from './wire';

interface Outstanding {
  sentAtNs: number;
  /** One bit per distinct flow-mod seen: direction (forward/reverse) x table id (low 4 bits). */
  flowModBits: number;
  flowMods: number;
  packetOut: boolean;
}

export interface CorrelatorCounters {
  /** Packet-ins answered completely. */
  completed: number;
  /** A flow-mod or packet-out repeating one already seen for the same packet-in (not counted again). */
  duplicates: number;
  /** Flow-mods/packet-outs naming no outstanding packet-in (pipeline flows, stale or foreign tuples). */
  unmatched: number;
  /** Packet-outs that arrived before all of their packet-in's flow-mods (the issue wants flows first). */
  packetOutFirst: number;
}

const SRC = HAS.SRC_IP | HAS.SRC_PORT;
const DST = HAS.DST_IP | HAS.DST_PORT;
const FORWARD = 0;
const REVERSE = 1;
const COUNTED_COMMANDS = new Set([OFPFC_ADD, OFPFC_MODIFY, OFPFC_MODIFY_STRICT]);

/** Key of a client endpoint (IPv4 as uint32, port): exact in a double (< 2^48). */
export function endpointKey(ip: number, port: number): number {
  return ip * 65536 + port;
}

function popcount(bits: number): number {
  let n = 0;
  for (let b = bits; b !== 0; b &= b - 1) n++;
  return n;
}

export class ResponseCorrelator {
  private readonly outstanding = new Map<number, Outstanding>();
  readonly counters: CorrelatorCounters = { completed: 0, duplicates: 0, unmatched: 0, packetOutFirst: 0 };
  /** The client endpoint (endpointKey) of the packet-in completed last: whose connection the switch may now end. */
  lastCompleted = -1;

  /** @param expectedFlowMods distinct flow-mods a packet-in needs (forward + reverse = 2). */
  constructor(readonly expectedFlowMods = 2) {
    if (!Number.isInteger(expectedFlowMods) || expectedFlowMods < 0 || expectedFlowMods > 32) {
      throw new RangeError(`expected flow-mods must be an integer 0..32, got ${expectedFlowMods}`);
    }
  }

  get inFlight(): number {
    return this.outstanding.size;
  }

  /** Records a packet-in sent for client ip:port. A tuple still outstanding must not be reused. */
  track(clientIp: number, clientPort: number, sentAtNs: number): void {
    const key = endpointKey(clientIp, clientPort);
    if (this.outstanding.has(key)) throw new Error(`client ${clientIp}:${clientPort} already has a packet-in in flight`);
    this.outstanding.set(key, { sentAtNs, flowModBits: 0, flowMods: 0, packetOut: false });
  }

  /**
   * A flow-mod from the controller. Its match names the client as source (forward flow) or as
   * destination (reverse flow). Returns the response latency in ns if this completed a packet-in, else -1.
   */
  onFlowMod(tuple: ObservedTuple, receivedAtNs: number): number {
    if (!COUNTED_COMMANDS.has(tuple.command)) {
      this.counters.unmatched++;
      return -1;
    }
    let key = -1;
    let direction = FORWARD;
    if ((tuple.present & SRC) === SRC && this.outstanding.has(endpointKey(tuple.srcIp, tuple.srcPort))) {
      key = endpointKey(tuple.srcIp, tuple.srcPort);
    } else if ((tuple.present & DST) === DST && this.outstanding.has(endpointKey(tuple.dstIp, tuple.dstPort))) {
      key = endpointKey(tuple.dstIp, tuple.dstPort);
      direction = REVERSE;
    }
    const entry = key < 0 ? undefined : this.outstanding.get(key);
    if (!entry) {
      this.counters.unmatched++;
      return -1;
    }
    const bit = 1 << ((direction << 4) | (tuple.tableId & 0x0f));
    if (entry.flowModBits & bit) {
      this.counters.duplicates++;
      return -1;
    }
    entry.flowModBits |= bit;
    entry.flowMods = popcount(entry.flowModBits);
    return this.completeIfDone(key, entry, receivedAtNs);
  }

  /** A packet-out carrying the client's frame. Returns the latency in ns if this completed a packet-in, else -1. */
  onPacketOut(tuple: ObservedTuple, receivedAtNs: number): number {
    const key = (tuple.present & SRC) === SRC ? endpointKey(tuple.srcIp, tuple.srcPort) : -1;
    const entry = key < 0 ? undefined : this.outstanding.get(key);
    if (!entry) {
      this.counters.unmatched++;
      return -1;
    }
    if (entry.packetOut) {
      this.counters.duplicates++;
      return -1;
    }
    entry.packetOut = true;
    if (entry.flowMods < this.expectedFlowMods) this.counters.packetOutFirst++;
    return this.completeIfDone(key, entry, receivedAtNs);
  }

  /** Forgets every outstanding packet-in (end of run); returns how many never got a full answer. */
  abandon(): number {
    const n = this.outstanding.size;
    this.outstanding.clear();
    return n;
  }

  private completeIfDone(key: number, entry: Outstanding, receivedAtNs: number): number {
    if (!entry.packetOut || entry.flowMods < this.expectedFlowMods) return -1;
    this.outstanding.delete(key);
    this.counters.completed++;
    this.lastCompleted = key;
    return receivedAtNs - entry.sentAtNs;
  }
}
