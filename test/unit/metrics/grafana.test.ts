import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../../src/metrics';
import { RuntimeWithHistory } from '../../../src/runtime/with-history';
import { sampleRuntime } from '../api/fake-runtime';

interface Panel { title: string; type: string; targets?: Array<{ expr: string }>; panels?: Panel[] }
const FILE = path.resolve(__dirname, '../../../packaging/grafana/vadc-dashboard.json');
const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ query?: unknown }> } };

/** Every metric name a PromQL expression uses (vadc_, process_ and nodejs_ names). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:vadc|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]);
}

describe('packaging/grafana/vadc-dashboard.json', () => {
  it('uses only metrics the daemon exports (every name is in a scrape with every figure present)', async () => {
    const rt = await sampleRuntime();
    rt.patchBackend('web', 'v-vm1', { rateOfProcessing: 10, lastCheck: { at: rt.now, ok: true, port: 8080, reason: 'HTTP 200', durationMs: 2 } });
    const withHistory = new RuntimeWithHistory(rt);
    withHistory.sample();
    const metrics = createMetrics(withHistory);
    metrics.observeDecisionLatency(0.001);
    const exported = new Set((await metrics.render()).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));

    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const exprs = [
      ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...dashboard.templating.list.map((v) => (typeof v.query === 'string' ? v.query : '')),
    ];
    const used = [...new Set(exprs.flatMap(metricNames))].sort();
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((name) => !exported.has(name))).toEqual([]);
    // Panels people look at first are there.
    const titles = panels.map((p) => p.title);
    for (const t of ['New connections / s per backend', 'Bytes / s per backend', 'Health', 'Packet-ins / s', 'NAT mode']) expect(titles).toContain(t);
  });
});
