// A fenced master whose election still names it: how it takes a generation past the switch's (docs/operators/run-a-pair.md).

export type OutbidVerdict = { outbid: true; generation: bigint } | { outbid: false; reason: string };

/**
 * At most `limit` outbids in `windowMs`: two controllers from different elections (a third instance with its own
 * ha.dir or store) would otherwise outbid each other forever, each demoting the other. Past the limit the instance
 * stays fenced and says why.
 */
export class OutbidBudget {
  private readonly times: number[] = [];
  constructor(private readonly limit = 3, private readonly windowMs = 60_000) {}

  take(now: number): string | undefined {
    while (this.times.length && now - this.times[0] >= this.windowMs) this.times.shift();
    if (this.times.length >= this.limit) {
      return `${this.limit} outbids within ${this.windowMs / 1000} s: another controller outside this pair's election keeps claiming MASTER (a third instance with another controller.ha.dir or store?); staying fenced`;
    }
    this.times.push(now);
    return undefined;
  }
}

/** The generation past a switch's; undefined when it does not fit OVSDB's integer (the cluster row) or wraps. */
export function generationPast(switchGeneration: bigint, ours: bigint): bigint | undefined {
  const next = (switchGeneration > ours ? switchGeneration : ours) + 1n;
  return next <= BigInt(Number.MAX_SAFE_INTEGER) ? next : undefined;
}

