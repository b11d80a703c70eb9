import type { OutboundMessage } from '../controller/types';

/** Messages for one switch, in the order they must be sent. */
export interface SwitchBatch {
  dpid: bigint;
  msgs: OutboundMessage[];
}

/**
 * What one input to the app causes, switch by switch. Made fresh by each input and returned by it (never
 * kept between inputs): the caller sends every batch, so nothing waits in the app to be flushed.
 */
export class Outbox {
  private readonly batches = new Map<bigint, OutboundMessage[]>();

  to(dpid: bigint, msgs: readonly OutboundMessage[]): this {
    if (msgs.length === 0) return this;
    const batch = this.batches.get(dpid);
    if (batch) batch.push(...msgs);
    else this.batches.set(dpid, [...msgs]);
    return this;
  }

  toEach(dpids: Iterable<bigint>, msgs: readonly OutboundMessage[]): this {
    for (const dpid of dpids) this.to(dpid, msgs);
    return this;
  }

  /** Appends another outbox's messages, switch by switch, after this one's. */
  add(other: Outbox): this {
    for (const [dpid, msgs] of other.batches) this.to(dpid, msgs);
    return this;
  }

  /** The batches, in the order their switches were first addressed. */
  done(): SwitchBatch[] {
    return [...this.batches].map(([dpid, msgs]) => ({ dpid, msgs }));
  }
}
