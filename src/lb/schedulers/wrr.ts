import type { Backend } from '../backend';
import type { PacketKey, Scheduler } from '../scheduler';
import { usable } from './rr';

/** Greatest common divisor of two positive weights. */
export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * ip_vs_wrr: gcd-interleaved weighted round robin. The current weight cw starts at the maximum and
 * drops by the gcd each time the walk wraps; a member is chosen when its weight >= cw. Weights 4,3,2
 * give A A B A B C A B C. O(1) amortised per pick.
 */
export class WeightedRoundRobinScheduler implements Scheduler {
  readonly name = 'wrr' as const;
  private members: readonly Backend[] = [];
  /** Index of the last chosen member; -1 is the list head (before the first member). */
  private cursor = -1;
  private gcdWeight = 1;
  private maxWeight = 0;
  private currentWeight = 0;

  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    if (backends !== this.members) this.onChange(backends);
    if (this.maxWeight === 0) return null;
    const n = backends.length;
    const last = this.cursor;
    let index = this.cursor;
    let stop = -2; // no stop member yet
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (index = index + 1; index < n; index++) {
        const candidate = backends[index];
        if (usable(candidate, pkt) && candidate.weight >= this.currentWeight) {
          this.cursor = index;
          return candidate;
        }
        if (index === stop) return this.exhausted(index);
      }
      index = -1;
      this.currentWeight -= this.gcdWeight;
      if (this.currentWeight <= 0) {
        this.currentWeight = this.maxWeight;
        if (lastPass || last === -1) return this.exhausted(-1);
        restarted = true;
      }
      lastPass = this.currentWeight <= this.gcdWeight;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }

  /** ip_vs_wrr_dest_changed: cursor back to the head; cw kept on the new gcd grid when possible. */
  onChange(backends: readonly Backend[]): void {
    this.members = backends;
    this.cursor = -1;
    let g = 0;
    let max = 0;
    for (const b of backends) {
      if (b.weight > 0) g = g > 0 ? gcd(b.weight, g) : b.weight;
      if (b.weight > max) max = b.weight;
    }
    this.gcdWeight = g || 1;
    this.maxWeight = max - (this.gcdWeight - 1);
    if (this.currentWeight > this.maxWeight || this.currentWeight === 0) {
      this.currentWeight = this.maxWeight;
    } else if (this.gcdWeight > 1) {
      this.currentWeight = Math.floor(this.currentWeight / this.gcdWeight) * this.gcdWeight + 1;
    }
  }

  private exhausted(cursor: number): null {
    this.cursor = cursor;
    return null;
  }
}
