import { createMetrics } from '../../../src/metrics';
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
  it('exposes connections, traffic, health, queue measure and switch counters with the right types', async () => {
    const rt = await sampleRuntime();
    const metrics = createMetrics(rt);
    const { samples, types } = parseExposition(await metrics.render());

    expect(value(samples, 'vadc_connections', { service: 'web', backend: 'v-vm1', state: 'active' })).toBe(3);
    expect(value(samples, 'vadc_connections', { service: 'web', backend: 'v-vm1', state: 'inactive' })).toBe(1);
    expect(value(samples, 'vadc_connections_total', { service: 'web', backend: 'v-vm2' })).toBe(5);
    expect(value(samples, 'vadc_backend_packets_total', { backend: 'v-vm1' })).toBe(1200);
    expect(value(samples, 'vadc_backend_bytes_total', { backend: 'v-vm2' })).toBe(48000);
    expect(value(samples, 'vadc_backend_up', { backend: 'v-vm1' })).toBe(1);
    expect(value(samples, 'vadc_backend_queue_measure', { backend: 'v-vm1' })).toBe(0.25);
    // No samples yet for v-vm2: the series is absent rather than a misleading 0.
    expect(value(samples, 'vadc_backend_queue_measure', { backend: 'v-vm2' })).toBeUndefined();
    expect(value(samples, 'vadc_scheduler_decisions_total', { service: 'web' })).toBe(15);
    expect(value(samples, 'vadc_scheduler_refused_total', { service: 'web' })).toBe(2);
    expect(value(samples, 'vadc_switch_packet_ins_total', { dpid: '0000000000000001' })).toBe(42);
    expect(value(samples, 'vadc_switch_flow_mods_total', { dpid: '0000000000000001' })).toBe(17);
    expect(value(samples, 'vadc_switch_errors_total', { dpid: '0000000000000001' })).toBe(1);
    expect(value(samples, 'vadc_switch_connected', { dpid: '0000000000000001' })).toBe(1);
    expect(value(samples, 'vadc_build_info', { version: '0.1.0-test' })).toBe(1);

    expect(types.get('vadc_connections')).toBe('gauge');
    expect(types.get('vadc_connections_total')).toBe('counter');
    expect(types.get('vadc_backend_packets_total')).toBe('counter');
    expect(types.get('vadc_decision_latency_seconds')).toBe('histogram');
    // Prometheus conventions: counters end in _total, everything is prefixed vadc_ and snake_case.
    for (const [name, type] of types) {
      expect(name).toMatch(/^vadc_[a-z0-9_]+$/);
      if (type === 'counter') expect(name).toMatch(/_total$/);
    }
  });

  it('follows the runtime between scrapes: health changes, removed backends disappear', async () => {
    const rt = await sampleRuntime();
    const metrics = createMetrics(rt);
    await metrics.render();
    rt.setHealth('web', 'v-vm2', 'down', 'no reply');
    await rt.removeBackend('web', 'v-vm1');
    const { samples } = parseExposition(await metrics.render());
    expect(value(samples, 'vadc_backend_up', { backend: 'v-vm2' })).toBe(0);
    expect(value(samples, 'vadc_backend_health', { backend: 'v-vm2', state: 'down' })).toBe(1);
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
