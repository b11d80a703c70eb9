// Where every backend is, kept current: the inputs a location is computed from (OVSDB's vNICs, the other cluster
// hosts' reports of the backends whose vNICs they have, this host's uplink) and the recomputation of every backend's
// location from them and the switches' port tables (the pure functions are ./location.ts), with its events. No I/O
// and no messages: the app sends what a change causes.
import type { SwitchInfo } from '../controller/types';
import { FeedbackScheduler } from '../lb/schedulers/feedback';
import { formatDpid } from '../openflow/dpid';
import type { EventSink } from './events';
import { locateBackend, locateRemoteBackend, portsByName, sameLocation, type RemoteBackendReport, type VnicInfo } from './location';
import { connectionsCut, refreshAvailability, type BackendState, type ServiceState, type ServiceTable } from './services';
import type { StoppedBackends } from './stopped-backends';

/** A remote backend cut off at its own host (its verdict, or its link there). */
export interface CutRemoteBackend {
  service: ServiceState;
  state: BackendState;
}

export class BackendLocator {
  private readonly vnics = new Map<string, VnicInfo>();
  /** The other cluster hosts' reports of the backends whose vNICs they have, by "service\0backend". */
  private readonly remoteReports = new Map<string, RemoteBackendReport>();

  /**
   * `switches`: the app's connected switches (read at each relocation). `uplink`: the cluster host's port toward the
   * other hosts; unset, no backend is located remotely.
   */
  constructor(
    private readonly services: ServiceTable,
    private readonly switches: ReadonlyMap<bigint, SwitchInfo>,
    private readonly stoppedBackends: StoppedBackends,
    private readonly emit: EventSink,
    private readonly uplink: string | undefined,
  ) {}

  /** OVSDB's view of a vNIC (undefined: gone); relocate() applies it. */
  setVnic(selector: string, info: VnicInfo | undefined): void {
    if (info) this.vnics.set(selector, info);
    else this.vnics.delete(selector);
  }

  /**
   * Replaces the other hosts' reports and relocates (LoadBalancerApp.setRemoteBackends). Returns the remote backends
   * this change cut off at their own host (cut now, not before it): the app drops their connections.
   */
  setRemoteReports(reports: readonly RemoteBackendReport[], now: number): CutRemoteBackend[] {
    this.remoteReports.clear();
    for (const r of reports) {
      const key = reportKey(r.service, r.backend);
      const seen = this.remoteReports.get(key);
      // Two hosts reporting one backend (a VM moving): the one whose vNIC link is up wins.
      if (!seen || (!seen.linkUp && r.linkUp)) this.remoteReports.set(key, r);
    }
    const cutBefore = new Set(this.cutRemoteBackends().map(({ service, state }) => reportKey(service.config.name, state.config.name)));
    this.relocate(now);
    this.publishWaits();
    return this.cutRemoteBackends().filter(({ service, state }) => !cutBefore.has(reportKey(service.config.name, state.config.name)));
  }

  /**
   * The feedback schedulers weigh a remote backend by its own host's published queue measure too. Told again after
   * every reconfiguration: a rebuilt service (or a new pool) has new schedulers, and the next report may be long.
   */
  publishWaits(): void {
    for (const service of this.services.all) {
      for (const [name, state] of service.backends) {
        for (const scheduler of service.lb.schedulers) if (scheduler instanceof FeedbackScheduler) scheduler.setPublishedWait(name, state.remote?.queueMeasure);
      }
    }
  }

  /** Recomputes every backend's location; reports the ones that moved, appeared or went. */
  relocate(now: number): void {
    const ports = portsByName(this.switches.values());
    for (const service of this.services.all) {
      for (const state of service.backends.values()) {
        const selector = state.config.vnic;
        const vnic = this.vnics.get(selector);
        const remote = this.remoteReports.get(reportKey(service.config.name, state.config.name));
        // This host's own vNIC first; else where another host says it has it.
        const location = locateBackend(selector, state.config.mac, vnic, ports)
          ?? (remote && this.uplink !== undefined ? locateRemoteBackend(remote, state.config.mac, this.uplink, this.switches.values()) : undefined);
        const before = state.location;
        state.location = location;
        state.remote = location?.remoteHost === undefined ? undefined : remote;
        if (!sameLocation(before, location)) {
          this.stoppedBackends.moved();
          const portName = vnic?.name ?? selector;
          this.emit(location
            ? { time: now, kind: 'backend_located', level: 'info', service: service.config.name, backend: state.config.name, dpid: formatDpid(location.dpid),
              message: location.remoteHost !== undefined
                ? `vNIC ${selector} is on host ${location.remoteHost}: through uplink port ${location.ofport} (${this.uplink}) on ${formatDpid(location.dpid)}, MAC ${location.mac}, link ${location.linkUp ? 'up' : 'down'}`
                : `vNIC ${selector} is port ${location.ofport} (${portName}) on ${formatDpid(location.dpid)}, link ${location.linkUp ? 'up' : 'down'}` }
            : { time: now, kind: 'backend_lost', level: 'warn', service: service.config.name, backend: state.config.name,
              message: `vNIC ${selector} is not on any connected switch` });
        }
        refreshAvailability(service, state);
      }
    }
  }

  /** The remote backends cut off at their own host now (its verdict, or their link there). */
  private cutRemoteBackends(): CutRemoteBackend[] {
    const cut: CutRemoteBackend[] = [];
    for (const service of this.services.all) {
      for (const state of service.backends.values()) {
        if (state.location?.remoteHost !== undefined && connectionsCut(service, state)) cut.push({ service, state });
      }
    }
    return cut;
  }
}

const reportKey = (service: string, backend: string): string => `${service}\u0000${backend}`;
