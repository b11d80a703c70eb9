// The tracker listings vadc asked for during a phase of a real-OVS bench, read off its status (datapath.reading):
// how long ovs-vswitchd took to start answering each (its main thread formatting the zone), how long vadc took to
// apply it, and the spacing datapath.listing_share set.
import type { AccountingReadingStatus } from '../../src/runtime/types';

export interface ListingSampler {
  /** Stops sampling; a line for the bench's log. */
  stop(): string;
}

export function sampleListings(read: () => AccountingReadingStatus | undefined, everyMs = 100): ListingSampler {
  const seen = new Map<number, AccountingReadingStatus>();
  const look = (): void => {
    const r = read();
    if (r) seen.set(r.at, r);
  };
  look();
  const timer = setInterval(look, everyMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      look();
      const all = [...seen.values()].sort((a, b) => a.at - b.at);
      if (all.length === 0) return 'no tracker listing';
      const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
      const gaps = all.slice(1).map((r, i) => (r.at - all[i].at) / 1000);
      return `${all.length} tracker listing(s): ovs-vswitchd ms ${ms(all.map((r) => r.answerWaitMs))}; vadc ms ${ms(all.map((r) => r.tookMs))}; `
        + `spacing set s ${all.map((r) => (r.spacingMs / 1000).toFixed(1)).join(', ')} (${all.map((r) => r.spacedBy).join(', ')}); apart s ${gaps.map((g) => g.toFixed(1)).join(', ') || '-'}`;
    },
  };
}
