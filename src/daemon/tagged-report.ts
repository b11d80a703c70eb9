// What the tags of VMs that join by tag (./tagged-backends.ts) made of the services, reported as events: who
// joined, who left, and which tagged interfaces cannot serve (each problem once, until it goes and comes back).
// Kept apart from the pure rule so the daemon only asks "did anything change?" and hands the result over.
import type { VadcEvent } from '../runtime/types';
import { taggedChanges, type TagProblem, type TaggedBackend, type TaggedServices } from './tagged-backends';

export class TaggedReport {
  /** Each service's tagged backends as last served. */
  private tagged = new Map<string, TaggedBackend[]>();
  private problems = new Set<string>();

  constructor(private readonly emit: (event: Omit<VadcEvent, 'time'>) => void) {}

  /** Whether serving `next` would change any service's tagged backends. */
  changes(next: TaggedServices): boolean {
    return taggedChanges(this.tagged, next.tagged).length > 0;
  }

  /** The interface a tagged backend was found on (status), or undefined for a configured backend. */
  ifaceOf(service: string, backend: string): string | undefined {
    return this.tagged.get(service)?.find((b) => b.name === backend)?.iface;
  }

  /** `next` is served now: report who joined and who left, then its problems. */
  served(next: TaggedServices): void {
    for (const change of taggedChanges(this.tagged, next.tagged)) {
      for (const b of change.left) {
        this.emit({
          kind: 'backend_untagged', level: 'info', service: change.service, backend: b.name, data: { iface: b.iface, ...addressesOf(b) },
          message: `${b.name} (${addressText(b)}, interface ${b.iface}) left ${change.service}: its interface is gone or no longer tagged; it takes no new connections, established ones end where the datapath keeps them`,
        });
      }
      for (const b of change.joined) {
        this.emit({
          kind: 'backend_tagged', level: 'info', service: change.service, backend: b.name, data: { iface: b.iface, ...addressesOf(b) },
          message: `${b.name} (${addressText(b)}, interface ${b.iface}) joined ${change.service} by its tag`,
        });
      }
    }
    this.tagged = next.tagged;
    this.reportProblems(next.problems);
  }

  /** Problems of tagged interfaces, each reported once while it lasts. */
  reportProblems(next: readonly TagProblem[]): void {
    const keyOf = (p: TagProblem) => `${p.service}\u0000${p.iface}\u0000${p.message}`;
    for (const p of next) {
      if (this.problems.has(keyOf(p))) continue;
      this.emit({ kind: 'tagged_backend_skipped', level: 'warn', service: p.service, data: { iface: p.iface }, message: `interface ${p.iface} carries ${p.service}'s tag but is not a backend: ${p.message}` });
    }
    this.problems = new Set(next.map(keyOf));
  }
}

/** A tagged backend's address(es) for an event's data: a dual-stack one's ip6 too. */
function addressesOf(b: TaggedBackend): { ip: string; ip6?: string } {
  return b.ip6 === undefined ? { ip: b.ip } : { ip: b.ip, ip6: b.ip6 };
}

/** A tagged backend's address(es) as its event's message names them. */
function addressText(b: TaggedBackend): string {
  return b.ip6 === undefined ? b.ip : `${b.ip} and ${b.ip6}`;
}
