import { createMetrics, HEALTH_STATES } from '../../../src/metrics';
import { parseOpenMetrics, promtoolFindings } from '../../helpers/metrics-lint';
import { sampleRuntime } from '../api/fake-runtime';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser of the Prometheus text format: samples plus the # TYPE of each family. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('metrics from the runtime snapshot', () => {
  it('exposes every figure of the status: connections, traffic, health, weights, tiers, queue, switches, datapath', async () => {
    const rt = await sampleRuntime();
    rt.patchBackend('web', 'v-vm1', { rateOfProcessing: 850 });
    const metrics = createMetrics(rt);
    const { samples, types } = parseExposition(await metrics.render());

    expect(value(samples, 'vadc_backend_current_connections', { service: 'web', backend: 'v-vm1', state: 'active' })).toBe(3);
    expect(value(samples, 'vadc_backend_current_connections', { service: 'web', backend: 'v-vm1', state: 'inactive' })).toBe(1);
    expect(value(samples, 'vadc_backend_connections_total', { service: 'web', backend: 'v-vm2' })).toBe(5);
    expect(value(samples, 'vadc_backend_packets_total', { backend: 'v-vm1' })).toBe(1200);
    expect(value(samples, 'vadc_backend_bytes_total', { backend: 'v-vm2' })).toBe(48000);
    expect(value(samples, 'vadc_backend_up', { backend: 'v-vm1' })).toBe(1);
    expect(value(samples, 'vadc_backend_weight', { backend: 'v-vm1' })).toBe(2);
    expect(value(samples, 'vadc_backend_tier', { backend: 'v-vm1' })).toBe(0);
    expect(value(samples, 'vadc_backend_queue_measure_seconds', { backend: 'v-vm1' })).toBe(0.25);
    expect(value(samples, 'vadc_backend_processing_packets_per_second', { backend: 'v-vm1' })).toBe(850);
    // No samples yet for v-vm2: the series is absent rather than a misleading 0.
    expect(value(samples, 'vadc_backend_queue_measure_seconds', { backend: 'v-vm2' })).toBeUndefined();
    expect(value(samples, 'vadc_backend_info', { backend: 'v-vm1', vnic: 'v-vm1', ip: '10.0.0.11', ports: '8080', ofport: '1', mac: '52:54:00:00:00:01', dpid: '0000000000000001' })).toBe(1);
    expect(value(samples, 'vadc_scheduler_decisions_total', { service: 'web' })).toBe(15);
    expect(value(samples, 'vadc_scheduler_refused_total', { service: 'web' })).toBe(2);
    expect(value(samples, 'vadc_service_active_tier', { service: 'web' })).toBe(0);
    expect(value(samples, 'vadc_service_info', { service: 'web', vip: '10.0.0.100', port: '80', protocol: 'tcp', scheduler: 'wlc' })).toBe(1);
    expect(value(samples, 'vadc_switch_packet_ins_total', { dpid: '0000000000000001' })).toBe(42);
    expect(value(samples, 'vadc_switch_flow_mods_total', { dpid: '0000000000000001' })).toBe(17);
    expect(value(samples, 'vadc_switch_errors_total', { dpid: '0000000000000001' })).toBe(1);
    expect(value(samples, 'vadc_switch_connected', { dpid: '0000000000000001' })).toBe(1);
    expect(value(samples, 'vadc_switch_ports', { dpid: '0000000000000001' })).toBe(5);
    expect(value(samples, 'vadc_switch_connection_start_time_seconds', { dpid: '0000000000000001' })).toBe((rt.now - 50_000) / 1000);
    expect(value(samples, 'vadc_switch_info', { dpid: '0000000000000001', address: '127.0.0.1:40001' })).toBe(1);
    expect(value(samples, 'vadc_build_info', { version: '0.1.0-test' })).toBe(1);
    expect(value(samples, 'vadc_datapath_info', { nat: 'conntrack', accounting: 'conntrack', ct_zone: '2780' })).toBe(1);
    expect(value(samples, 'vadc_ovsdb_connected')).toBe(1);
    expect(value(samples, 'vadc_accounting_reading_wait_seconds')).toBe(0.0125);
    expect(value(samples, 'vadc_accounting_reading_spacing_seconds')).toBe(2.5);
    expect(value(samples, 'vadc_start_time_seconds')).toBe((rt.now - 60_000) / 1000);

    expect(types.get('vadc_backend_current_connections')).toBe('gauge');
    expect(types.get('vadc_backend_connections_total')).toBe('counter');
    expect(types.get('vadc_decision_latency_seconds')).toBe('histogram');
    // Prometheus conventions: counters and only counters end in _total; vadc's own names are prefixed vadc_.
    for (const [name, type] of types) {
      expect(name).toMatch(/^(vadc|process|nodejs)_[a-z0-9_]+$/);
      expect([name, type === 'counter']).toEqual([name, name.endsWith('_total')]);
    }
    // The process and Node.js runtime metrics are there too.
    expect(value(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });

  it('counts payload rule hits per rule and pool, the default pool and malformed first datagrams (and passes promtool)', async () => {
    const rt = await sampleRuntime();
    expect(parseExposition(await createMetrics(rt).render()).samples.filter((x) => x.name.startsWith('vadc_payload_'))).toEqual([]);
    rt.patchService('web', { payloadRules: {
      rules: [{ name: 'version-2', pool: 'new', hits: 7 }, { name: 'tenant-7', pool: 't7', hits: 0 }],
      defaultPool: 'old', defaultHits: 12, malformed: 3, malformedAction: 'refuse',
    } });
    const metrics = createMetrics(rt);
    const { samples, types } = parseExposition(await metrics.render());
    expect(value(samples, 'vadc_payload_rule_hits_total', { service: 'web', rule: 'version-2', pool: 'new' })).toBe(7);
    expect(value(samples, 'vadc_payload_rule_hits_total', { service: 'web', rule: 'tenant-7', pool: 't7' })).toBe(0);
    expect(value(samples, 'vadc_payload_default_pool_total', { service: 'web', pool: 'old' })).toBe(12);
    expect(value(samples, 'vadc_payload_malformed_total', { service: 'web', action: 'refuse' })).toBe(3);
    expect(types.get('vadc_payload_rule_hits_total')).toBe('counter');
    expect(promtoolFindings(await metrics.render('prometheus'))).toEqual([]);
  });

  it('shows the software ports taken out of a serving backend, by port and why (and passes promtool)', async () => {
    const rt = await sampleRuntime();
    const metrics = createMetrics(rt);
    rt.patchBackend('web', 'v-vm1', { portsOut: [{ port: 8081, why: 'outlier' }, { port: 8082, why: 'check' }] });
    const { samples } = parseExposition(await metrics.render());
    expect(value(samples, 'vadc_backend_port_out', { backend: 'v-vm1', port: '8081', why: 'outlier' })).toBe(1);
    expect(value(samples, 'vadc_backend_port_out', { backend: 'v-vm1', port: '8082', why: 'check' })).toBe(1);
    expect(samples.filter((x) => x.name === 'vadc_backend_port_out')).toHaveLength(2);
    expect(promtoolFindings(await metrics.render('prometheus'))).toEqual([]);
    rt.patchBackend('web', 'v-vm1', { outlierEjections: 4 });
    const after = parseExposition(await metrics.render());
    expect(value(after.samples, 'vadc_backend_outlier_ejections_total', { service: 'web', backend: 'v-vm1' })).toBe(4);
    expect(after.types.get('vadc_backend_outlier_ejections_total')).toBe('counter');
    // Back in: the series goes.
    rt.patchBackend('web', 'v-vm1', { portsOut: [] });
    expect(parseExposition(await metrics.render()).samples.filter((x) => x.name === 'vadc_backend_port_out')).toEqual([]);
  });

  it('health is a state set: every state present, 1 for the current one', async () => {
    const rt = await sampleRuntime();
    rt.setHealth('web', 'v-vm2', 'draining');
    const { samples } = parseExposition(await createMetrics(rt).render());
    const states = samples.filter((s) => s.name === 'vadc_backend_health' && s.labels.backend === 'v-vm2');
    expect(states.map((s) => [s.labels.vadc_backend_health, s.value]).sort()).toEqual(HEALTH_STATES.map((h) => [h, h === 'draining' ? 1 : 0]).sort());
  });

  it('passes promtool check metrics and the OpenMetrics parser (state set, info and counter families, no clash)', async () => {
    const rt = await sampleRuntime();
    const metrics = createMetrics(rt);
    metrics.observeDecisionLatency(0.0003);
    expect(promtoolFindings(await metrics.render('prometheus'))).toEqual([]);
    const om = await metrics.render('openmetrics');
    expect(om.endsWith('# EOF\n')).toBe(true);
    const families = parseOpenMetrics(om);
    const byName = new Map(families.map((f) => [f.name, f]));
    expect(byName.get('vadc_backend_health')?.type).toBe('stateset');
    expect(byName.get('vadc_build')?.type).toBe('info');
    expect(byName.get('vadc_backend_connections')?.type).toBe('counter');
    expect(byName.get('vadc_backend_current_connections')?.type).toBe('gauge');
    expect(byName.get('vadc_decision_latency_seconds')?.type).toBe('histogram');
    expect(byName.get('process_cpu_seconds')?.type).toBe('counter');
    // Family names are unique: the parser would have refused a clash, and nothing is left out.
    expect(new Set(families.map((f) => f.name)).size).toBe(families.length);
    const textFamilies = (await metrics.render('prometheus')).split('\n').filter((l) => l.startsWith('# TYPE ')).length;
    expect(families.length).toBe(textFamilies);
  });

  it('a family clash or a bad state set does not pass the checks (so passing means something)', () => {
    const clash = '# TYPE x_connections gauge\nx_connections 1\n# TYPE x_connections counter\nx_connections_total 2\n# EOF\n';
    expect(() => parseOpenMetrics(clash)).toThrow(/OpenMetrics parser rejected/);
    const badSet = '# TYPE h stateset\nh{h="up"} 2\n# EOF\n';
    expect(() => parseOpenMetrics(badSet)).toThrow(/OpenMetrics parser rejected/);
    expect(promtoolFindings('# HELP g_total a gauge\n# TYPE g_total gauge\ng_total 1\n').join()).toMatch(/_total/);
  });

  it("names a dual-stack service's IPv6 VIP and its backends' IPv6 addresses (vip6, ip6; empty for single-family ones)", async () => {
    const rt = await sampleRuntime();
    rt.patchService('web', { vip6: 'fd00::100' });
    rt.patchBackend('web', 'v-vm1', { ip6: 'fd00::11' });
    const { samples } = parseExposition(await createMetrics(rt).render());
    expect(value(samples, 'vadc_service_info', { service: 'web', vip: '10.0.0.100', vip6: 'fd00::100' })).toBe(1);
    expect(value(samples, 'vadc_backend_info', { backend: 'v-vm1', ip: '10.0.0.11', ip6: 'fd00::11' })).toBe(1);
    expect(samples.filter((s) => s.name === 'vadc_backend_info' && s.labels.backend === 'v-vm2').map((s) => s.labels.ip6 ?? '')).toEqual(['']);
  });

  it('follows the runtime between scrapes: health changes, removed backends disappear', async () => {
    const rt = await sampleRuntime();
    const metrics = createMetrics(rt);
    await metrics.render();
    rt.setHealth('web', 'v-vm2', 'down', 'no reply');
    await rt.removeBackend('web', 'v-vm1');
    const { samples } = parseExposition(await metrics.render());
    expect(value(samples, 'vadc_backend_up', { backend: 'v-vm2' })).toBe(0);
    expect(value(samples, 'vadc_backend_health', { backend: 'v-vm2', vadc_backend_health: 'down' })).toBe(1);
    expect(value(samples, 'vadc_backend_up', { backend: 'v-vm1' })).toBeUndefined();
  });

  it('records decision latencies in the histogram and refuses nonsense', async () => {
    const metrics = createMetrics(await sampleRuntime());
    metrics.observeDecisionLatency(0.0002);
    metrics.observeDecisionLatency(0.003);
    const { samples } = parseExposition(await metrics.render());
    expect(value(samples, 'vadc_decision_latency_seconds_count')).toBe(2);
    expect(value(samples, 'vadc_decision_latency_seconds_bucket', { le: '0.00025' })).toBe(1);
    expect(value(samples, 'vadc_decision_latency_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(() => metrics.observeDecisionLatency(-1)).toThrow(RangeError);
  });

  it('keeps separate registries per instance', async () => {
    const a = createMetrics(await sampleRuntime());
    const b = createMetrics(await sampleRuntime());
    a.observeDecisionLatency(0.001);
    const bText = parseExposition(await b.render());
    expect(value(bText.samples, 'vadc_decision_latency_seconds_count')).toBe(0);
  });
});
