// What the daemon serves: the config file's services, then the cluster store's that do not collide with them
// (docs/cluster.md), each with the backends its tag finds among OVSDB's Interface rows (VMs that join by tag,
// ./tagged-backends.ts), and the drains the store asks for. This keeps the three inputs and answers "what now?";
// the daemon does the I/O with the answer (app, health monitors, OVSDB), so the rule is tested without sockets.
import type { PinConflict } from '../app/service-ids';
import { combineServices, type EffectivePolicy, type EffectiveService, type PolicyProblem } from '../cluster';
import type { ServiceConfig } from '../config';
import type { InterfaceRow } from '../ovsdb';
import type { VadcEvent } from '../runtime/types';
import { backendKey, drainPlan, type BackendKey } from './cluster-host';
import { withTaggedBackends } from './tagged-backends';
import { TaggedReport } from './tagged-report';

/** A backend as the app holds it, for the store's drains. */
export interface BackendDrainState {
  service: string;
  backend: string;
  draining: boolean;
}

export class ServedServices {
  /** The services the store's policy gives this host (none without a cluster section). */
  private cluster: EffectiveService[] = [];
  /** OVSDB's Interface rows as last seen. */
  private interfaces: InterfaceRow[] = [];
  /** Backends drained because the store said so (an API drain is not undone when the store's goes). */
  private storeDrained = new Set<BackendKey>();
  /** The store's services served now: not those whose name or VIP the file's services hold. */
  private fromStore: EffectiveService[] = [];
  /** The events of tagged backends joining and leaving, and each one's interface for status. */
  readonly tagged: TaggedReport;
  /** What is served now (the file's services until the first `next`). */
  current: ServiceConfig[];

  constructor(fileServices: ServiceConfig[], emit: (event: Omit<VadcEvent, 'time'>) => void) {
    this.current = fileServices;
    this.tagged = new TaggedReport(emit);
  }

  /** Names of the services that come from the store (an API edit of the file must not touch them). */
  clusterNames(): string[] {
    return this.cluster.map((s) => s.config.name);
  }

  /** The store's policy for this host changed; `next` serves it. */
  setClusterPolicy(policy: EffectivePolicy): void {
    this.cluster = policy.services;
  }

  /**
   * OVSDB's interfaces changed. True when that changes any service's tagged backends (a VM whose tag appeared
   * joins, one whose tag or interface went leaves): the caller serves again. Otherwise only new problems of
   * tagged interfaces are reported.
   */
  setInterfaces(rows: InterfaceRow[], fileServices: readonly ServiceConfig[]): boolean {
    this.interfaces = rows;
    const base = combineServices(fileServices, this.cluster).services;
    if (!base.some((s) => s.backends_from)) return false;
    const next = withTaggedBackends(base, rows);
    if (this.tagged.changes(next)) return true;
    this.tagged.reportProblems(next.problems);
    return false;
  }

  /**
   * The services to serve now (becoming `current`), and the policy problems (a name in the file and the store, a
   * pinned id the store sets that cannot be applied). `pinConflicts`: the app's check of a list's pinned ids against
   * the running services (LoadBalancerApp.pinConflicts).
   */
  next(
    fileServices: readonly ServiceConfig[], pinConflicts: (services: readonly ServiceConfig[]) => PinConflict[] = () => [],
  ): { services: ServiceConfig[]; problems: PolicyProblem[] } {
    const wanted = combineServices(fileServices, this.cluster);
    const pinned = this.storePinsChecked(fileServices, wanted.services, pinConflicts);
    // Nothing withheld: the store's services are this.cluster's own, and so is their combination.
    const combined = pinned.problems.length === 0 ? wanted : combineServices(fileServices, pinned.store);
    this.fromStore = pinned.store.filter((s) => combined.services.includes(s.config));
    const tagged = withTaggedBackends(combined.services, this.interfaces);
    this.tagged.served(tagged);
    this.current = tagged.services;
    return { services: this.current, problems: [...combined.problems, ...pinned.problems] };
  }

  /**
   * The store's services with their pinned ids checked as `config apply` checks the file's: a pin that would renumber
   * a running service, or take the id of a service kept beside it, would drop live connections' flows. The store's
   * service is then not applied: one served before stays as it was served (its new drains apply), a new one is left
   * out; each is a problem (an event, the host's status). The store's next change of the service is checked again.
   */
  private storePinsChecked(
    fileServices: readonly ServiceConfig[], wanted: readonly ServiceConfig[], pinConflicts: (services: readonly ServiceConfig[]) => PinConflict[],
  ): { store: EffectiveService[]; problems: PolicyProblem[] } {
    const conflicts = new Map(pinConflicts(wanted).map((c) => [c.service, c.message]));
    const before = new Map(this.fromStore.map((s) => [s.config.name, s]));
    const store: EffectiveService[] = [];
    const problems: PolicyProblem[] = [];
    for (const s of this.cluster) {
      const name = s.config.name;
      const why = conflicts.get(name);
      // A file service of the same name is served instead of the store's (combineServices): its pin is config apply's.
      if (why === undefined || fileServices.some((f) => f.name === name)) {
        store.push(s);
        continue;
      }
      const served = before.get(name);
      if (served) store.push({ ...s, config: served.config });
      const pinnedAt = s.from.id ?? s.definedAt;
      problems.push({
        kind: 'pinned_id_conflict', service: name, scope: pinnedAt,
        message: `cluster service ${name} ${served ? 'is served as before' : 'is left out'}: the id set at ${pinnedAt}: ${why}`,
      });
    }
    return { store, problems };
  }

  /**
   * The store's drains against the app's backends: which to drain now and which the store no longer drains. Only
   * services served from the store follow its drains: a file's service of the same name is not the store's.
   */
  drains(backends: readonly BackendDrainState[]): { drain: [string, string][]; enable: [string, string][] } {
    const wanted = new Set(this.fromStore
      .flatMap((s) => Object.keys(s.drained).map((b) => backendKey(s.config.name, b))));
    const plan = drainPlan(backends, wanted, this.storeDrained);
    this.storeDrained = plan.storeDrained;
    const pair = (key: BackendKey) => key.split('\u0000') as [string, string];
    return { drain: plan.drain.map(pair), enable: plan.enable.map(pair) };
  }
}
