import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackendStatus, HealthState, ServiceStatus, StatusSnapshot, SwitchStatus, VadcRuntime } from '../runtime/types';
import { contentTypeOf, renderExposition, type ExpositionFormat, type Family, type FamilyType } from './exposition';

export { negotiateFormat, type ExpositionFormat } from './exposition';

/**
 * vadc's Prometheus metrics. Everything except the decision-latency histogram and the process/Node.js
 * metrics is read from the runtime's status snapshot at scrape time, so the numbers are never stale and the
 * daemon has nothing to keep in sync: every figure `vadc status` shows is here. A private Registry (not
 * prom-client's global one) keeps several daemons/tests in one process apart. Names follow Prometheus
 * conventions (base units, `_total` only on counters, no gauge and counter sharing a family), so the output
 * passes `promtool check metrics` and an OpenMetrics parser (CI runs both on a scrape of the lab daemon).
 */
export interface VadcMetrics {
  readonly registry: Registry;
  /** The content type of `render(format)`. */
  contentType(format?: ExpositionFormat): string;
  /** The daemon calls this with the time one scheduling decision took. */
  observeDecisionLatency(seconds: number): void;
  /** The exposition text: Prometheus text 0.0.4 (default) or OpenMetrics 1.0. */
  render(format?: ExpositionFormat): Promise<string>;
}

export const HEALTH_STATES: readonly HealthState[] = ['up', 'down', 'unknown', 'draining', 'drained', 'launching'];

/** prom-client's default gauges named *_total (not counters: promtool rejects them); the per-type gauges stay. */
const DROPPED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

type BackendRow = { s: ServiceStatus; b: BackendStatus };
type Labels = Record<string, string | number>;

export function createMetrics(runtime: VadcRuntime, opts: { prefix?: string; processMetrics?: boolean } = {}): VadcMetrics {
  const registry = new Registry();
  const p = opts.prefix ?? 'vadc_';
  const registers = [registry];
  /** Families that prom-client types as gauges but OpenMetrics knows better. */
  const kinds = new Map<string, FamilyType>();
  // One snapshot per scrape, shared by every collector: taken by the first collect and dropped after render.
  let scrape: StatusSnapshot | undefined;
  const snapshot = (): StatusSnapshot => (scrape ??= runtime.status());
  const backends = (): BackendRow[] => snapshot().services.flatMap((s) => s.backends.map((b) => ({ s, b })));
  const ids = ({ s, b }: BackendRow) => ({ service: s.name, backend: b.id });

  /** A gauge or counter whose series are read from the snapshot at each scrape. */
  function family<T>(kind: 'gauge' | 'counter', name: string, help: string, labelNames: string[], rows: () => T[], read: (row: T) => Array<[Labels, number | undefined]>): void {
    const Metric = kind === 'gauge' ? Gauge : Counter;
    new Metric({
      name: `${p}${name}`, help, labelNames, registers,
      collect(this: Gauge | Counter) {
        this.reset();
        for (const row of rows()) {
          for (const [labels, value] of read(row)) {
            if (value === undefined) continue;
            // Counters take the runtime's own monotonic counts as they are.
            if (this instanceof Gauge) this.set(labels, value);
            else this.inc(labels, Math.max(0, value));
          }
        }
      },
    });
  }
  const perBackend = (kind: 'gauge' | 'counter', name: string, help: string, read: (b: BackendStatus) => number | undefined) =>
    family(kind, name, help, ['service', 'backend'], backends, (row) => [[ids(row), read(row.b)]]);
  const perService = (kind: 'gauge' | 'counter', name: string, help: string, read: (s: ServiceStatus) => number) =>
    family(kind, name, help, ['service'], () => snapshot().services, (s) => [[{ service: s.name }, read(s)]]);
  const perSwitch = (kind: 'gauge' | 'counter', name: string, help: string, read: (sw: SwitchStatus) => number) =>
    family(kind, name, help, ['dpid'], () => snapshot().switches, (sw) => [[{ dpid: sw.dpid }, read(sw)]]);
  const info = (name: string, help: string, labelNames: string[], rows: () => Labels[]) => {
    kinds.set(`${p}${name}`, 'info');
    family('gauge', name, help, labelNames, rows, (labels) => [[labels, 1]]);
  };

  // ---- backends
  family('gauge', 'backend_current_connections', 'Connections tracked now, by state (active = established, inactive = closing or idle).',
    ['service', 'backend', 'state'], backends, (row) => [[{ ...ids(row), state: 'active' }, row.b.activeConns], [{ ...ids(row), state: 'inactive' }, row.b.inactiveConns]]);
  perBackend('counter', 'backend_connections_total', 'Connections scheduled to the backend since the daemon started.', (b) => b.totalConns);
  perBackend('counter', 'backend_packets_total', "Packets through the backend's NAT flows (OpenFlow flow stats).", (b) => b.packets);
  perBackend('counter', 'backend_bytes_total', "Bytes through the backend's NAT flows (OpenFlow flow stats).", (b) => b.bytes);
  perBackend('gauge', 'backend_up', '1 when the backend is healthy and takes new connections, else 0.', (b) => (b.health === 'up' ? 1 : 0));
  kinds.set(`${p}backend_health`, 'stateset');
  family('gauge', 'backend_health', 'The backend health state as a state set: 1 for the current state, 0 for the others.',
    ['service', 'backend', `${p}backend_health`], backends,
    (row) => HEALTH_STATES.map((state) => [{ ...ids(row), [`${p}backend_health`]: state }, row.b.health === state ? 1 : 0]));
  perBackend('gauge', 'backend_weight', "The backend's scheduling weight (0 = drained).", (b) => b.weight);
  perBackend('gauge', 'backend_tier', "The backend's failover tier (0 = primary).", (b) => b.tier);
  perBackend('gauge', 'backend_overloaded', '1 when the backend is over its connection or queue threshold.', (b) => (b.overloaded ? 1 : 0));
  family('gauge', 'backend_port_out', 'Software ports of a backend that get no new connections while it serves on others: 1 per port; '
    + 'why = outlier (passive outlier detection ejected it) or check (its active check fails).',
  ['service', 'backend', 'port', 'why'], backends, (row) => (row.b.portsOut ?? []).map((o): [Labels, number] => [{ ...ids(row), port: o.port, why: o.why }, 1]));
  perBackend('counter', 'backend_outlier_ejections_total', 'Times passive outlier detection ejected one of the backend\'s software ports (resets when the backend is reconfigured).', (b) => b.outlierEjections);
  perBackend('gauge', 'backend_queue_measure_seconds', "The feedback scheduler's queue measure: expected wait of one more connection (absent without samples).", (b) => b.queueMeasure);
  perBackend('gauge', 'backend_processing_packets_per_second', "Packets per second the backend's vNIC processed at the last statistics sample (absent without samples).", (b) => b.rateOfProcessing);
  perBackend('gauge', 'backend_max_connections', 'Most connections (active + inactive) the backend held at once at a status sample.', (b) => b.maxConns);
  perBackend('counter', 'backend_down_transitions_total', 'Times the backend went down since it was first up.', (b) => b.downTransitions);
  perBackend('counter', 'backend_downtime_seconds_total', 'Time the backend spent down since it was first up.', (b) => (b.downtimeMs === undefined ? undefined : b.downtimeMs / 1000));
  perBackend('gauge', 'backend_state_change_timestamp_seconds', 'When the health state last changed, seconds since the Unix epoch.', (b) => (b.stateSince === undefined ? undefined : b.stateSince / 1000));
  perBackend('gauge', 'backend_last_check_timestamp_seconds', 'When the last active health check finished, seconds since the Unix epoch.', (b) => (b.lastCheck ? b.lastCheck.at / 1000 : undefined));
  perBackend('gauge', 'backend_last_check_success', '1 when the last active health check passed, 0 when it failed.', (b) => (b.lastCheck ? Number(b.lastCheck.ok) : undefined));
  perBackend('gauge', 'backend_last_check_duration_seconds', 'How long the last active health check took.', (b) => (b.lastCheck ? b.lastCheck.durationMs / 1000 : undefined));
  info('backend_info', "Always 1; the labels say where the backend is (vNIC, IP, a dual-stack service's backend's IPv6 address in ip6, software ports; OpenFlow port, MAC and switch once located).",
    ['service', 'backend', 'vnic', 'ip', 'ip6', 'ports', 'ofport', 'mac', 'dpid'], () => backends().map(({ s, b }) => ({
      service: s.name, backend: b.id, vnic: b.vnic, ip: b.ip, ip6: b.ip6 ?? '', ports: b.ports.join(','), ofport: b.ofport === undefined ? '' : String(b.ofport), mac: b.mac ?? '', dpid: b.dpid ?? '',
    })));

  // ---- services
  perService('counter', 'scheduler_decisions_total', 'Scheduler picks (new connections placed) per service.', (s) => s.decisions);
  perService('counter', 'scheduler_refused_total', 'New connections refused because no backend was available, per service.', (s) => s.refused);
  perService('counter', 'packet_in_repeats_total', 'Packet-ins of connections already decided (a retransmitted SYN, or a segment that met a stale datapath cache entry), per service.', (s) => s.repeats);
  perService('counter', 'reply_guard_packet_ins_total', "Backend SYN-ACKs flows mode's reply guard sent up (no connection flow took them), per service.", (s) => s.guardedReplies);
  perService('counter', 'connection_flows_resent_total', "Connections already decided whose flows were gone from the switch (flows mode: their packet came back up), given their flows again, per service.", (s) => s.flowsResent);
  perService('counter', 'connection_end_copies_total', 'Copies of TCP FIN/RST segments the switch sent (datapath.end_copies), per service.', (s) => s.endCopies);
  const payloadRules = () => snapshot().services.filter((s) => s.payloadRules !== undefined);
  family('counter', 'payload_rule_hits_total', 'First datagrams of new UDP flows each payload rule matched (first match wins), per service, rule and pool.',
    ['service', 'rule', 'pool'], payloadRules, (s) => s.payloadRules!.rules.map((r) => [{ service: s.name, rule: r.name, pool: r.pool }, r.hits]));
  family('counter', 'payload_default_pool_total', 'First datagrams of new UDP flows no payload rule matched (sent to the default pool), per service.',
    ['service', 'pool'], payloadRules, (s) => [[{ service: s.name, pool: s.payloadRules!.defaultPool }, s.payloadRules!.defaultHits]]);
  family('counter', 'payload_malformed_total', 'Malformed first datagrams of new UDP flows, per service and what they got (default pool or refuse).',
    ['service', 'action'], payloadRules, (s) => [[{ service: s.name, action: s.payloadRules!.malformedAction }, s.payloadRules!.malformed]]);
  perService('gauge', 'service_active_tier', 'The failover tier taking new connections (0 = primary).', (s) => s.activeTier);
  info('service_info', "Always 1; the labels describe the service (VIP, a dual-stack service's IPv6 VIP in vip6, port, protocol, scheduler).",
    ['service', 'vip', 'vip6', 'port', 'protocol', 'scheduler'],
    () => snapshot().services.map((s) => ({ service: s.name, vip: s.vip, vip6: s.vip6 ?? '', port: String(s.port), protocol: s.protocol, scheduler: s.scheduler })));

  // ---- switches
  perSwitch('counter', 'switch_packet_ins_total', 'OpenFlow packet-in messages received from the switch.', (sw) => sw.packetIns);
  perSwitch('counter', 'switch_flow_mods_total', 'OpenFlow flow-mod messages sent to the switch.', (sw) => sw.flowModsSent);
  perSwitch('counter', 'switch_errors_total', 'OpenFlow error messages received from the switch.', (sw) => sw.errorsReceived);
  perSwitch('gauge', 'switch_connected', '1 for every switch with an open OpenFlow session.', () => 1);
  perSwitch('gauge', 'switch_ports', 'Ports the switch reported.', (sw) => sw.ports);
  perSwitch('gauge', 'switch_connection_start_time_seconds', "When the switch's OpenFlow session came up, seconds since the Unix epoch.", (sw) => sw.connectedAt / 1000);
  info('switch_info', "Always 1; the address label is the switch's OpenFlow peer address.", ['dpid', 'address'],
    () => snapshot().switches.map((sw) => ({ dpid: sw.dpid, address: sw.address })));

  // ---- the daemon
  const one = () => [snapshot()];
  family('gauge', 'ovsdb_connected', '1 while the OVSDB session is up.', [], one, (st) => [[{}, st.ovsdb.connected ? 1 : 0]]);
  family('gauge', 'start_time_seconds', 'When the daemon started, seconds since the Unix epoch.', [], one, (st) => [[{}, st.startedAt / 1000]]);
  info('build_info', 'Always 1; the version label says which vadc is running.', ['version'], () => [{ version: snapshot().version }]);
  info('datapath_info', "Always 1; how connections are translated: nat=flows (per-connection flows) or conntrack (OVS's connection tracker).",
    ['nat', 'accounting', 'ct_zone'], () => {
      const dp = snapshot().datapath;
      return [{ nat: dp.nat, accounting: dp.accounting ?? '', ct_zone: dp.ctZone === undefined ? '' : String(dp.ctZone) }];
    });

  const reading = () => {
    const r = snapshot().datapath.reading;
    return r ? [r] : [];
  };
  family('gauge', 'accounting_reading_wait_seconds', "The last tracker listing's request -> its answer's first byte: ovs-vswitchd's time building it.",
    [], reading, (r) => [[{}, r.answerWaitMs / 1000]]);
  family('gauge', 'accounting_reading_spacing_seconds', 'The least time between the last tracker listing and the next (0: every statistics poll; datapath.listing_share).',
    [], reading, (r) => [[{}, r.spacingMs / 1000]]);

  const latency = new Histogram({
    name: `${p}decision_latency_seconds`,
    help: 'Time from a packet-in for a new connection to its flows being queued.',
    // Decisions are sub-millisecond when healthy; the upper buckets catch stalls.
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers,
  });

  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    for (const name of DROPPED_DEFAULTS) registry.removeSingleMetric(name);
  }

  return {
    registry,
    contentType: (format = 'prometheus') => contentTypeOf(format),
    observeDecisionLatency(seconds: number): void {
      if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`decision latency must be a finite number >= 0, got ${seconds}`);
      latency.observe(seconds);
    },
    async render(format: ExpositionFormat = 'prometheus'): Promise<string> {
      scrape = undefined;
      try {
        const families = (await registry.getMetricsAsJSON()) as unknown as Family[];
        return renderExposition(families.map((f) => ({ ...f, type: kinds.get(f.name) ?? f.type })), format);
      } finally {
        scrape = undefined;
      }
    },
  };
}
