import type { Backend } from '../backend';
import type { PacketKey, Scheduler } from '../scheduler';

/**
 * Usable by rr/wrr/lc... for the packet's connection: the kernel skips OVERLOAD and weight 0; we also skip members
 * down, or with no port serving the connection's family (a dual-stack backend may fail one family's check only).
 */
export function usable(b: Backend, pkt: PacketKey): boolean {
  return b.eligibleFor(pkt.ip6 !== undefined);
}

/**
 * ip_vs_rr: the next usable member after the last one chosen, wrapping. When the last chosen member
 * is removed the cursor steps back to the member before it (ip_vs_rr_del_dest), so the rotation
 * carries on with the member that followed the removed one.
 */
export class RoundRobinScheduler implements Scheduler {
  readonly name = 'rr' as const;
  private members: readonly Backend[] = [];
  private last: Backend | null = null;
  private lastIndex = -1;

  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    if (backends !== this.members) this.onChange(backends);
    const n = backends.length;
    for (let step = 1; step <= n; step++) {
      const index = (this.lastIndex + step) % n;
      const candidate = backends[index];
      if (usable(candidate, pkt)) {
        this.last = candidate;
        this.lastIndex = index;
        return candidate;
      }
    }
    return null;
  }

  onChange(backends: readonly Backend[]): void {
    const previous = this.members;
    this.members = backends;
    if (!this.last) {
      this.lastIndex = -1;
      return;
    }
    const kept = backends.indexOf(this.last);
    if (kept >= 0) {
      this.lastIndex = kept;
      return;
    }
    // The last chosen one is gone: continue from the nearest earlier survivor of the old list.
    const removedAt = previous.indexOf(this.last);
    this.last = null;
    this.lastIndex = -1;
    for (let i = removedAt - 1; i >= 0; i--) {
      const survivor = backends.indexOf(previous[i]);
      if (survivor >= 0) {
        this.last = previous[i];
        this.lastIndex = survivor;
        return;
      }
    }
  }
}
