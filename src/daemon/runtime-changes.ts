// The runtime's changes through the control API: services, backends, weights, drains and `config apply`, one change at
// a time; an API edit of the file's services is applied as a `config apply` of the edited file (./config-edits.ts).
import type { EventEmitter } from 'node:events';
import { stringify as toYaml } from 'yaml';
import { AppError, type LoadBalancerApp, type SwitchBatch } from '../app';
import { parseConfigOffThread, type OffThreadOptions, type VadcConfig } from '../config';
import {
  RuntimeError, type BackendSpec, type BackendStatus, type ServiceSpec, type ServiceStatus, type VadcEvent,
} from '../runtime/types';
import { backendKey, type BackendKey } from './cluster-host';
import { editConfig, type ConfigEdit } from './config-edits';
import type { ControllerElection } from './election';
import type { HealthBridge } from './health-bridge';
import { standbyRefusal, type PairConfigSync } from './pair-config';
import type { StatsPoller } from './stats-poller';

/** What the runtime's changes use of the daemon. */
export interface RuntimeChangesOptions {
  app: LoadBalancerApp;
  health: HealthBridge;
  stats: StatsPoller;
  election?: ControllerElection;
  /** A pair's configuration, told of every change (the daemon makes it before the changes). */
  pairConfig?: PairConfigSync;
  bus: EventEmitter;
  /** How an applied configuration is parsed (DaemonOptions.configParse). */
  configParse?: OffThreadOptions;
  /** The configuration that runs. */
  config(): VadcConfig;
  /** The configuration that runs from now on, and its text. */
  adopt(config: VadcConfig, text: string): void;
  /** The names of the services the cluster store serves (an API edit may not take them). */
  clusterNames(): readonly string[];
  /** Serves the file's and the cluster's services together (the daemon's serveCombined). */
  serve(): Promise<unknown>;
  /** A service's status by name; throws RuntimeError 'not_found'. */
  service(name: string): ServiceStatus;
  emitEvent(partial: Omit<VadcEvent, 'time'>): void;
  /** Sends what an app input caused, switch by switch. */
  deliver(batches: SwitchBatch[]): void;
}

/** The daemon's VadcRuntime methods that change what runs, and the queue every configuration change waits in. */
export class RuntimeChanges {
  constructor(private readonly o: RuntimeChangesOptions) {}

  /**
   * A pair's standby takes no runtime change through its API: the master's next publication would replace it
   * (./pair-config.ts), so the change would be lost silently. The error names the master and its API.
   */
  private refuseOnStandby(what: string): void {
    const refusal = standbyRefusal(this.o.election?.status(), what);
    if (refusal) throw new RuntimeError('conflict', refusal);
  }

  async addService(spec: ServiceSpec): Promise<ServiceStatus> {
    this.refuseOnStandby(`add service ${spec.name}`);
    return this.oneChangeAtATime(() => this.addServiceNow(spec));
  }

  private async addServiceNow(spec: ServiceSpec): Promise<ServiceStatus> {
    await this.applyEdit({ op: 'add_service', spec });
    return this.o.service(spec.name);
  }

  async removeService(name: string): Promise<void> {
    this.refuseOnStandby(`remove service ${name}`);
    return this.oneChangeAtATime(async () => {
      this.o.service(name);
      await this.applyEdit({ op: 'remove_service', service: name });
    });
  }

  async addBackend(serviceName: string, spec: BackendSpec): Promise<BackendStatus> {
    this.refuseOnStandby(`add backend ${spec.vnic} to ${serviceName}`);
    return this.oneChangeAtATime(async () => {
      this.o.service(serviceName);
      await this.applyEdit({ op: 'add_backend', service: serviceName, spec });
      return this.backendStatus(serviceName, spec.vnic);
    });
  }

  async removeBackend(serviceName: string, backend: string): Promise<void> {
    this.refuseOnStandby(`remove backend ${backend} of ${serviceName}`);
    return this.oneChangeAtATime(async () => {
      this.backendStatus(serviceName, backend);
      await this.applyEdit({ op: 'remove_backend', service: serviceName, backend });
    });
  }

  async setWeight(serviceName: string, backend: string, weight: number): Promise<BackendStatus> {
    this.refuseOnStandby(`set the weight of ${backend} in ${serviceName}`);
    return this.oneChangeAtATime(async () => {
      this.backendStatus(serviceName, backend);
      await this.applyEdit({ op: 'weight', service: serviceName, backend, weight });
      this.o.deliver(this.wrap(() => this.o.app.setWeight(serviceName, backend, weight)));
      return this.backendStatus(serviceName, backend);
    });
  }

  /** Weight 0; the health module reports 'backend_draining' now and 'backend_drained' when the last connection ends. */
  async drain(serviceName: string, backend: string): Promise<BackendStatus> {
    this.refuseOnStandby(`drain ${backend} of ${serviceName}`);
    return this.setDrained(serviceName, backend, true);
  }

  async enable(serviceName: string, backend: string): Promise<BackendStatus> {
    this.refuseOnStandby(`enable ${backend} of ${serviceName}`);
    return this.setDrained(serviceName, backend, false);
  }

  /** A drain or enable through the API (or adopted from the pair's master), kept to be published to a standby. */
  setDrained(serviceName: string, backend: string, drained: boolean): BackendStatus {
    const status = drained ? this.drainNow(serviceName, backend) : this.enableNow(serviceName, backend);
    if (drained) this.apiDrained.set(backendKey(serviceName, backend), [serviceName, backend]);
    else this.apiDrained.delete(backendKey(serviceName, backend));
    this.o.pairConfig?.changed();
    return status;
  }

  /** Drained through the control API (not by the cluster store): what a pair's master shares with its standby. */
  readonly apiDrained = new Map<BackendKey, [string, string]>();

  drainNow(serviceName: string, backend: string): BackendStatus {
    this.o.deliver(this.wrap(() => this.o.app.drain(serviceName, backend)));
    // The connection table is current now, the last statistics poll may not be: a drain must count the
    // connections opened since, or a backend with live connections would be reported drained at once.
    this.o.stats.feedHealthLoad();
    this.o.health.drain(serviceName, backend);
    return this.backendStatus(serviceName, backend);
  }

  enableNow(serviceName: string, backend: string): BackendStatus {
    this.o.deliver(this.wrap(() => this.o.app.enable(serviceName, backend)));
    this.o.health.enable(serviceName, backend);
    this.o.emitEvent({ kind: 'backend_enabled', level: 'info', service: serviceName, backend, message: `${backend} takes new connections again` });
    return this.backendStatus(serviceName, backend);
  }

  async applyConfig(yamlText: string): Promise<{ changed: string[] }> {
    this.refuseOnStandby('config apply');
    return this.oneChangeAtATime(() => this.applyConfigNow(yamlText));
  }

  /**
   * Configuration changes run one after another: parsing is asynchronous (a worker thread, so a large
   * configuration does not stall the switch sessions), and each change must start from the one before it.
   */
  oneChangeAtATime<T>(change: () => Promise<T>): Promise<T> {
    const run = this.changeQueue.then(change, change);
    this.changeQueue = run.catch(() => undefined);
    return run;
  }

  private changeQueue: Promise<unknown> = Promise.resolve();

  /**
   * `from`: 'pair' for a master's publication on its standby, which follows the master's service ids even where its
   * own differ (it forwards nothing as standby, and must take over with the master's ids); an operator's change may
   * not renumber a running service (pinConflicts).
   */
  async applyConfigNow(yamlText: string, from: 'operator' | 'pair' = 'operator'): Promise<{ changed: string[] }> {
    let next: VadcConfig;
    try {
      next = await parseConfigOffThread(yamlText, 'applied config', this.o.configParse);
    } catch (err) {
      throw new RuntimeError('invalid', (err as Error).message);
    }
    const config = this.o.config();
    if (JSON.stringify(next.datapath) !== JSON.stringify(config.datapath)) {
      throw new RuntimeError('invalid', `datapath (nat mode, conntrack zone) cannot change while vadc runs: it is ${JSON.stringify(config.datapath)}; restart vadc to change it`);
    }
    // The store session, the host's name and its report timer are set up once at start: a change here used to be
    // accepted and then ignored until the next restart.
    if (JSON.stringify(next.cluster) !== JSON.stringify(config.cluster)) {
      throw new RuntimeError('invalid', `the cluster section (remotes, host, group, uplink, policy_cache, report_interval) cannot change while vadc runs: it is ${config.cluster ? JSON.stringify(config.cluster) : 'absent'}, the new configuration has ${next.cluster ? JSON.stringify(next.cluster) : 'none'}; restart vadc to change it`);
    }
    const pinProblems = from === 'operator' ? this.o.app.pinConflicts(next.services, this.o.clusterNames()) : [];
    if (pinProblems.length) throw new RuntimeError('invalid', `service ids: ${pinProblems.map((p) => p.message).join('; ')}`);
    const before = new Map(config.services.map((s) => [s.name, JSON.stringify(s)]));
    const after = new Map(next.services.map((s) => [s.name, JSON.stringify(s)]));
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((n) => before.get(n) !== after.get(n)).sort();
    this.o.adopt(next, yamlText);
    await this.o.serve();
    this.o.emitEvent({ kind: 'config_applied', level: 'info', message: `configuration applied; services changed: ${changed.join(', ') || 'none'}`, data: { changed } });
    this.o.bus.emit('config', yamlText);
    this.o.pairConfig?.changed();
    return { changed };
  }

  /** A change of the file's services made through the API, applied as a `config apply` of the edited file. */
  private async applyEdit(edit: ConfigEdit): Promise<void> {
    const raw = editConfig(this.o.config(), this.o.clusterNames(), edit);
    await this.applyConfigNow(toYaml(raw));
  }

  private backendStatus(serviceName: string, backend: string): BackendStatus {
    const found = this.o.service(serviceName).backends.find((b) => b.id === backend);
    if (!found) throw new RuntimeError('not_found', `service ${serviceName} has no backend ${JSON.stringify(backend)}`);
    return found;
  }

  private wrap<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof AppError) throw new RuntimeError(err.code === 'not_found' ? 'not_found' : 'invalid', err.message);
      throw err;
    }
  }
}
