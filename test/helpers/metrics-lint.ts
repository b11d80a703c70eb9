// The two outside checks vadc's metrics must pass: Prometheus's own `promtool check metrics` (text format
// 0.0.4, naming lint included) and the OpenMetrics parser of the Python Prometheus client (Debian's
// python3-prometheus-client), which rejects family clashes, bad state sets and malformed samples.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** promtool's findings (one per line); empty when it is content. Throws when promtool is missing. */
export function promtoolFindings(text: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}): install Debian's prometheus package (scripts/setup.js does)`);
  const out = `${r.stdout}${r.stderr}`.trim();
  if (r.status === 0) return out ? out.split('\n') : [];
  return out ? out.split('\n') : [`promtool exited ${r.status}`];
}

export interface ParsedFamily {
  name: string;
  type: string;
  /** Non-finite values (NaN, +Inf) come as strings. */
  samples: Array<{ name: string; labels: Record<string, string>; value: number | string }>;
}

const PARSE = `
import json, math, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({'name': f.name, 'type': f.type, 'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

/** Families as the OpenMetrics parser reads them; throws with the parser's message on any error. */
export function parseOpenMetrics(text: string): ParsedFamily[] {
  const r = spawnSync(PYTHON, ['-c', PARSE], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`${PYTHON} not runnable: ${r.error.message}`);
  if (r.status !== 0) {
    if (/No module named 'prometheus_client'/.test(r.stderr)) throw new Error("the OpenMetrics parser is missing: install Debian's python3-prometheus-client (scripts/setup.js does)");
    throw new Error(`OpenMetrics parser rejected the exposition: ${r.stderr.trim().split('\n').pop()}`);
  }
  return JSON.parse(r.stdout) as ParsedFamily[];
}
