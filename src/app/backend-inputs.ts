// What the checks, the failover logic and the operators tell the app about one backend: health verdicts (the backend's,
// a software port's), where new connections go, weights, drains, load samples, and a dead backend's connections cut.
// Each changes the services' state and returns what it sends itself (most: nothing); LoadBalancerApp's inputs of the
// same names end in its finish(), which brings the per-backend flows in line with the change.
import type { SwitchInfo } from '../controller/types';
import type { AddressFamily } from '../lb/backend';
import { FeedbackScheduler, type LoadSample } from '../lb/schedulers/feedback';
import type { CutRemoteBackend } from './backend-locator';
import type { NatMode } from './nat/nat-mode';
import { Outbox } from './outbox';
import { applyRouting, refreshAvailability, requireBackend, type Routing, type ServiceTable } from './services';

export class BackendInputs {
  /** `switches`: the app's connected switches; `nat`: its NAT mode, which says how connections' flows are deleted. */
  constructor(
    private readonly services: ServiceTable,
    private readonly switches: ReadonlyMap<bigint, SwitchInfo>,
    private readonly nat: NatMode,
  ) {}

  /** Health verdict for one backend (from src/health). */
  setHealth(serviceName: string, backendName: string, healthy: boolean): Outbox {
    const service = this.services.require(serviceName);
    const state = service.backends.get(backendName);
    if (state) {
      state.healthy = healthy;
      refreshAvailability(service, state);
    }
    return new Outbox();
  }

  /**
   * One software port's active check verdict (src/health): a failing port of a serving backend gets no new connections.
   * `family`: a dual-stack backend's check of one of its addresses, which keeps the port from that family's new
   * connections only (its other family's VIP still sends them).
   */
  setPortHealth(serviceName: string, backendName: string, softwarePort: number, healthy: boolean, family?: AddressFamily): Outbox {
    const service = this.services.require(serviceName);
    requireBackend(service, backendName);
    service.lb.setPortHealthy(backendName, softwarePort, healthy, family);
    return new Outbox();
  }

  /** Where new connections go, as the failover logic decided: one tier's backends, the sorry backend, or nowhere. */
  setRouting(serviceName: string, routing: Routing): Outbox {
    applyRouting(this.services.require(serviceName), routing);
    return new Outbox();
  }

  setWeight(serviceName: string, backendName: string, weight: number): Outbox {
    const service = this.services.require(serviceName);
    const state = requireBackend(service, backendName);
    state.draining = false;
    state.config = { ...state.config, weight };
    service.lb.setWeight(backendName, weight);
    return new Outbox();
  }

  /** Quiesce: weight 0 so no new connections; established ones finish. */
  drain(serviceName: string, backendName: string): Outbox {
    const service = this.services.require(serviceName);
    requireBackend(service, backendName).draining = true;
    service.lb.setWeight(backendName, 0);
    return new Outbox();
  }

  enable(serviceName: string, backendName: string): Outbox {
    const service = this.services.require(serviceName);
    const state = requireBackend(service, backendName);
    state.draining = false;
    service.lb.setWeight(backendName, state.config.weight);
    return new Outbox();
  }

  /** One statistics sample for the feedback scheduler. */
  feedLoad(serviceName: string, backendName: string, sample: LoadSample): Outbox {
    const service = this.services.require(serviceName);
    // Each pool (payload rules) has its own scheduler; every feedback one hears the sample (ones without the backend ignore it).
    // Datapath decisions: L is what the latest listing newly showed open (bucketTimes), not every open entry the tracker
    // keeps: under CPU load it keeps some ESTABLISHED after their connection ended (band18: 6 to 65 after a 20 s load),
    // which, counted at every poll, grew L without bound.
    const member = service.config.decisions === 'datapath' ? service.lb.backendById(backendName) : undefined;
    const load = member && { outstanding: member.listedNewOpen, completed: member.completedConns };
    for (const scheduler of service.lb.schedulers) if (scheduler instanceof FeedbackScheduler) scheduler.feed(backendName, sample, load);
    return new Outbox();
  }

  /**
   * A backend died: forget its connections and delete their flows, so clients notice at once and reconnect
   * to a healthy backend. Flows of other backends are untouched.
   */
  dropBackendConnections(serviceName: string, backendName: string, now: number): Outbox {
    const service = this.services.require(serviceName);
    const state = requireBackend(service, backendName);
    for (const record of service.lb.connections.export()) {
      if (record.backendId === backendName) service.lb.close(record, now);
    }
    const out = new Outbox();
    // A remote backend's port is the uplink, shared by every remote backend: deleting by it would cut them all.
    // Its host's verdict removes its backend flow (conntrack mode) instead.
    if (state.location && state.location.remoteHost === undefined && this.switches.has(state.location.dpid)) {
      out.to(state.location.dpid, this.nat.dropBackendFlows(service.id, state.location.ofport));
    }
    return out;
  }

  /**
   * A remote backend its host has just failed, or whose vNIC link went down there (BackendLocator.setRemoteReports),
   * loses its connections here, as a local one does on its own health verdict (dropBackendConnections): its clients
   * notice at once instead of when their flows idle out.
   */
  dropCutRemoteConnections(cut: readonly CutRemoteBackend[], now: number): Outbox {
    const out = new Outbox();
    for (const { service, state } of cut) {
      const records = service.lb.connections.export().filter((r) => r.backendId === state.config.name);
      for (const record of records) service.lb.close(record, now);
      const { dpid, ofport } = state.location!;
      if (!this.switches.has(dpid)) continue;
      // A dual-stack backend's connections of each family went to that family's address.
      const ip6 = state.config.ip6;
      if (ip6 === undefined) out.to(dpid, this.nat.dropConnectionsVia(service, records, state.config.ip, ofport));
      else {
        out.to(dpid, this.nat.dropConnectionsVia(service, records.filter((r) => r.ip6 === undefined), state.config.ip, ofport));
        out.to(dpid, this.nat.dropConnectionsVia(service, records.filter((r) => r.ip6 !== undefined), ip6, ofport));
      }
    }
    return out;
  }
}
