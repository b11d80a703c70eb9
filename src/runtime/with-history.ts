/**
 * A VadcRuntime that keeps a status history: it samples the runtime it wraps every `intervalMs` (and observes
 * it on every event, so a health change is timed to the event, not the next sample), and adds the ledger's
 * per-backend figures (stateSince, downTransitions, downtimeMs, maxConns) to every status it returns.
 * serve() puts it between the daemon and the control API, so the API, metrics and dashboard all see them.
 */
import type {
  BackendSpec, BackendStatus, ConnectionStatus, FlowStatus, ServiceSpec, ServiceStatus, StatusSnapshot, VadcEvent, VadcRuntime,
} from './types';
import { HistoryLedger, type StatusHistory } from './history';

export interface HistoryOptions {
  /** Sample period (default 2000 ms, the dashboard's status period). */
  intervalMs?: number;
  /** How much is kept (default 15 minutes). */
  windowMs?: number;
  now?: () => number;
}

export class RuntimeWithHistory implements VadcRuntime {
  readonly ledger: HistoryLedger;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private readonly onEvent = () => this.ledger.observe(this.inner.status(), this.now());

  constructor(private readonly inner: VadcRuntime, opts: HistoryOptions = {}) {
    this.ledger = new HistoryLedger({ intervalMs: opts.intervalMs ?? 2000, windowMs: opts.windowMs ?? 15 * 60_000 });
    this.now = opts.now ?? Date.now;
  }

  get bus() {
    return this.inner.bus;
  }

  /** Takes the first sample and starts sampling. */
  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.ledger.opts.intervalMs);
    this.timer.unref();
    this.inner.bus.on('event', this.onEvent);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.inner.bus.off('event', this.onEvent);
  }

  sample(): void {
    this.ledger.record(this.inner.status(), this.now());
  }

  history(windowMs?: number): StatusHistory {
    return this.ledger.history(this.now(), windowMs);
  }

  status(): StatusSnapshot {
    const status = this.inner.status();
    return { ...status, time: this.now(), services: status.services.map((s) => this.withFigures(s)) };
  }
  services(): ServiceStatus[] {
    return this.inner.services().map((s) => this.withFigures(s));
  }
  service(name: string): ServiceStatus {
    return this.withFigures(this.inner.service(name));
  }
  async addService(spec: ServiceSpec): Promise<ServiceStatus> {
    return this.withFigures(await this.inner.addService(spec));
  }
  removeService(name: string): Promise<void> {
    return this.inner.removeService(name);
  }
  async addBackend(service: string, spec: BackendSpec): Promise<BackendStatus> {
    return this.backendFigures(await this.inner.addBackend(service, spec));
  }
  removeBackend(service: string, backend: string): Promise<void> {
    return this.inner.removeBackend(service, backend);
  }
  async setWeight(service: string, backend: string, weight: number): Promise<BackendStatus> {
    return this.backendFigures(await this.inner.setWeight(service, backend, weight));
  }
  async drain(service: string, backend: string): Promise<BackendStatus> {
    return this.backendFigures(await this.inner.drain(service, backend));
  }
  async enable(service: string, backend: string): Promise<BackendStatus> {
    return this.backendFigures(await this.inner.enable(service, backend));
  }
  connections(filter?: { service?: string; backend?: string }): ConnectionStatus[] {
    return this.inner.connections(filter);
  }
  flows(dpid?: string): Promise<FlowStatus[]> {
    return this.inner.flows(dpid);
  }
  events(limit?: number): VadcEvent[] {
    return this.inner.events(limit);
  }
  configText(): string {
    return this.inner.configText();
  }
  applyConfig(yamlText: string): Promise<{ changed: string[] }> {
    return this.inner.applyConfig(yamlText);
  }

  private withFigures(s: ServiceStatus): ServiceStatus {
    return { ...s, backends: s.backends.map((b) => this.backendFigures(b)) };
  }

  private backendFigures(b: BackendStatus): BackendStatus {
    const figures = this.ledger.figures(b.service, b.id, this.now());
    return figures ? { ...b, ...figures } : b;
  }
}
