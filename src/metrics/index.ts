import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StatusSnapshot, VadcRuntime } from '../runtime/types';

/**
 * vadc's Prometheus metrics. Everything except the decision-latency histogram is read from the runtime's
 * status snapshot at scrape time, so the numbers are never stale and the daemon has nothing to keep in sync.
 * A private Registry (not prom-client's global one) keeps several daemons/tests in one process apart.
 */
export interface VadcMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The daemon calls this with the time one scheduling decision took. */
  observeDecisionLatency(seconds: number): void;
  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string>;
}

type BackendLabels = 'service' | 'backend';

/** Sets a counter to an absolute value read from the runtime (the runtime's own counts are monotonic). */
function setCounter<L extends string>(counter: Counter<L>, labels: Record<L, string>, value: number): void {
  counter.inc(labels, Math.max(0, value));
}

export function createMetrics(runtime: VadcRuntime, opts: { prefix?: string } = {}): VadcMetrics {
  const registry = new Registry();
  const p = opts.prefix ?? 'vadc_';
  const registers = [registry];
  // One snapshot per scrape, shared by every collector: taken by the first collect and dropped after render.
  let scrape: StatusSnapshot | undefined;
  const snapshot = (): StatusSnapshot => (scrape ??= runtime.status());
  const backends = () => snapshot().services.flatMap((s) => s.backends.map((b) => ({ s, b })));

  const backendSeries = (name: string, help: string) => ({ name: `${p}${name}`, help, labelNames: ['service', 'backend'] as BackendLabels[], registers });

  new Gauge({
    name: `${p}connections`,
    help: 'Connections tracked per backend, by state (active = established, inactive = closing or idle).',
    labelNames: ['service', 'backend', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const { s, b } of backends()) {
        this.set({ service: s.name, backend: b.id, state: 'active' }, b.activeConns);
        this.set({ service: s.name, backend: b.id, state: 'inactive' }, b.inactiveConns);
      }
    },
  });
  const perBackendCounter = (name: string, help: string, read: (b: StatusSnapshot['services'][number]['backends'][number]) => number) =>
    new Counter<BackendLabels>({
      ...backendSeries(name, help),
      collect() {
        this.reset();
        for (const { s, b } of backends()) setCounter(this, { service: s.name, backend: b.id }, read(b));
      },
    });
  perBackendCounter('connections_total', 'Connections scheduled to the backend since the daemon started.', (b) => b.totalConns);
  perBackendCounter('backend_packets_total', "Packets through the backend's NAT flows (OpenFlow flow stats).", (b) => b.packets);
  perBackendCounter('backend_bytes_total', "Bytes through the backend's NAT flows (OpenFlow flow stats).", (b) => b.bytes);

  const perBackendGauge = (name: string, help: string, read: (b: StatusSnapshot['services'][number]['backends'][number]) => number | undefined) =>
    new Gauge<BackendLabels>({
      ...backendSeries(name, help),
      collect() {
        this.reset();
        for (const { s, b } of backends()) {
          const value = read(b);
          if (value !== undefined) this.set({ service: s.name, backend: b.id }, value);
        }
      },
    });
  perBackendGauge('backend_up', '1 when the backend is healthy and takes new connections, else 0.', (b) => (b.health === 'up' ? 1 : 0));
  perBackendGauge('backend_weight', 'The backend\'s scheduling weight (0 = drained).', (b) => b.weight);
  perBackendGauge('backend_overloaded', '1 when the backend is over its connection or queue threshold.', (b) => (b.overloaded ? 1 : 0));
  perBackendGauge(
    'backend_queue_measure',
    "The feedback scheduler's queue measure (outstanding work / processing rate); absent without samples.",
    (b) => b.queueMeasure,
  );

  new Gauge<'service' | 'backend' | 'state'>({
    name: `${p}backend_health`,
    help: 'The backend health state: 1 for the current state, one series per backend.',
    labelNames: ['service', 'backend', 'state'],
    registers,
    collect() {
      this.reset();
      for (const { s, b } of backends()) this.set({ service: s.name, backend: b.id, state: b.health }, 1);
    },
  });

  new Counter<'service'>({
    name: `${p}scheduler_decisions_total`,
    help: 'Scheduler picks (new connections placed) per service.',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      for (const s of snapshot().services) setCounter(this, { service: s.name }, s.decisions);
    },
  });
  new Counter<'service'>({
    name: `${p}scheduler_refused_total`,
    help: 'New connections refused because no backend was available, per service.',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      for (const s of snapshot().services) setCounter(this, { service: s.name }, s.refused);
    },
  });

  const perSwitchCounter = (name: string, help: string, read: (sw: StatusSnapshot['switches'][number]) => number) =>
    new Counter<'dpid'>({
      name: `${p}${name}`,
      help,
      labelNames: ['dpid'],
      registers,
      collect() {
        this.reset();
        for (const sw of snapshot().switches) setCounter(this, { dpid: sw.dpid }, read(sw));
      },
    });
  perSwitchCounter('switch_packet_ins_total', 'OpenFlow packet-in messages received from the switch.', (sw) => sw.packetIns);
  perSwitchCounter('switch_flow_mods_total', 'OpenFlow flow-mod messages sent to the switch.', (sw) => sw.flowModsSent);
  perSwitchCounter('switch_errors_total', 'OpenFlow error messages received from the switch.', (sw) => sw.errorsReceived);
  new Gauge<'dpid'>({
    name: `${p}switch_connected`,
    help: '1 for every switch with an open OpenFlow session.',
    labelNames: ['dpid'],
    registers,
    collect() {
      this.reset();
      for (const sw of snapshot().switches) this.set({ dpid: sw.dpid }, 1);
    },
  });
  new Gauge({
    name: `${p}ovsdb_connected`,
    help: '1 while the OVSDB session is up.',
    registers,
    collect() {
      this.set(snapshot().ovsdb.connected ? 1 : 0);
    },
  });
  new Gauge<'version'>({
    name: `${p}build_info`,
    help: 'Always 1; the version label says which vadc is running.',
    labelNames: ['version'],
    registers,
    collect() {
      this.reset();
      this.set({ version: snapshot().version }, 1);
    },
  });
  new Gauge({
    name: `${p}start_time_seconds`,
    help: 'When the daemon started, seconds since the Unix epoch.',
    registers,
    collect() {
      this.set(snapshot().startedAt / 1000);
    },
  });

  const latency = new Histogram({
    name: `${p}decision_latency_seconds`,
    help: 'Time from a packet-in for a new connection to its flows being queued.',
    // Decisions are sub-millisecond when healthy; the upper buckets catch stalls.
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    observeDecisionLatency(seconds: number): void {
      if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`decision latency must be a finite number >= 0, got ${seconds}`);
      latency.observe(seconds);
    },
    async render(): Promise<string> {
      scrape = undefined;
      try {
        return await registry.metrics();
      } finally {
        scrape = undefined;
      }
    },
  };
}
