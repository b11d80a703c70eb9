/**
 * Renders metric families in the two formats scrapers ask for: Prometheus text 0.0.4 and OpenMetrics 1.0.
 * prom-client keeps the metric objects and collects their values; this renders them, because its own
 * OpenMetrics output has no state sets or info metrics and renames counters in place (which breaks a counter
 * rendered in both formats). Pure: families in, text out.
 */

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_TEXT = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'stateset' | 'info' | 'untyped';

export interface Sample {
  /** The sample's own name when it differs from the family's (histogram _bucket/_sum/_count). */
  metricName?: string;
  labels?: Record<string, string | number | undefined>;
  value: number;
}

export interface Family {
  /** As registered with prom-client: counters end in _total, info metrics in _info. */
  name: string;
  help: string;
  type: FamilyType;
  values: Sample[];
}

export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** OpenMetrics when the scraper lists it in Accept (Prometheus does by default), else text 0.0.4. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export function contentTypeOf(format: ExpositionFormat): string {
  return format === 'openmetrics' ? OPENMETRICS_TEXT : PROMETHEUS_TEXT;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Sample['labels']): string {
  const parts = Object.entries(labels ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${escapeLabel(typeof v === 'number' ? formatValue(v) : String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A histogram's `le` label as the formats want it: 0.005, +Inf. */
function normalizeLabels(labels: Sample['labels']): Sample['labels'] {
  if (!labels || labels.le === undefined) return labels;
  return { ...labels, le: typeof labels.le === 'number' ? formatValue(labels.le) : labels.le };
}

function stripSuffix(name: string, suffix: string): string {
  return name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
}

/** One family's lines (no trailing newline). */
export function renderFamily(f: Family, format: ExpositionFormat): string {
  const om = format === 'openmetrics';
  // Text 0.0.4 has no state sets or info metrics: they are gauges there, with the same samples.
  const type = !om && (f.type === 'stateset' || f.type === 'info') ? 'gauge' : f.type;
  let familyName = f.name;
  if (om && f.type === 'counter') familyName = stripSuffix(f.name, '_total');
  if (om && f.type === 'info') familyName = stripSuffix(f.name, '_info');
  const lines = [`# HELP ${familyName} ${escapeHelp(f.help)}`, `# TYPE ${familyName} ${type}`];
  for (const s of f.values) {
    const name = s.metricName ?? (f.type === 'counter' && om ? `${familyName}_total` : f.name);
    lines.push(`${name}${labelText(normalizeLabels(s.labels))} ${formatValue(s.value)}`);
  }
  return lines.join('\n');
}

export function renderExposition(families: readonly Family[], format: ExpositionFormat): string {
  const body = families.map((f) => renderFamily(f, format)).join('\n');
  return format === 'openmetrics' ? `${body}\n# EOF\n` : `${body}\n`;
}
