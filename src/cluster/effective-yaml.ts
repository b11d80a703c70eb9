// `vadc config show --effective`: a host's services as it serves them, each value with where it came from
// (the config file, a scope of the cluster store, or the default). Pure: data in, YAML text out.
import { Document, isMap, isPair, isScalar, isSeq, type Node, type Pair } from 'yaml';
import type { ServiceConfig } from '../config';
import type { EffectivePolicy, PolicyProblem, Source } from './merge';

export interface EffectiveView {
  host?: string;
  group?: string;
  /** Where the store's part came from: the store now, or the host's policy cache (with when it was saved). */
  origin: string;
  fileServices: readonly ServiceConfig[];
  policy?: EffectivePolicy;
  /** The NAT mode this configuration gives the host at start and its source (./effective.ts effectiveNat). */
  nat: { value: string; from: Source };
  /** The NAT mode the running daemon chose at its start, and why (absent with --file). */
  running?: { nat: string; reason: string };
  /** What is actually served (the file's and the store's services after conflicts). */
  served: readonly ServiceConfig[];
  problems: readonly PolicyProblem[];
}

/** The source of one value of a store service, by its path ('scheduler', 'health.path', 'backends.web1.weight'). */
function sourceOf(from: Record<string, Source>, path: string[]): Source {
  // A backend's own keys are recorded one by one: backends.NAME alone says where it was defined, not its values.
  const shortest = path[0] === 'backends' ? Math.min(3, path.length) : 1;
  for (let n = path.length; n >= shortest; n--) {
    const key = path.slice(0, n).join('.');
    if (from[key]) return from[key];
  }
  return 'default';
}

function annotate(node: Node | null | undefined, path: string[], source: (path: string[]) => Source): void {
  if (isMap(node)) {
    for (const item of node.items as Pair[]) {
      if (!isPair(item) || !isScalar(item.key)) continue;
      const childPath = [...path, String(item.key.value)];
      if (isScalar(item.value)) item.value.comment = ` ${source(childPath)}`;
      else if (isSeq(item.value) && item.value.items.every(isScalar)) {
        item.value.flow = true;
        item.value.comment = ` ${source(childPath)}`;
      }
      else annotate(item.value as Node, childPath, source);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      // Backends are lists of mappings: their paths use the backend's name.
      const name = isMap(item) ? (item.get('name') as string | undefined) : undefined;
      annotate(item as Node, name ? [...path, name] : path, source);
    }
  }
}

export function renderEffective(view: EffectiveView): string {
  const cluster = new Map(view.policy?.services.map((s) => [s.config.name, s]) ?? []);
  const doc = new Document({ datapath: { nat: view.nat.value }, services: view.served });
  const header = [
    `effective policy${view.host ? ` of host ${view.host}${view.group ? ` (group ${view.group})` : ''}` : ''}: ${view.origin}`,
    ...(view.policy ? [`store policy digest ${view.policy.digest.slice(0, 16)}`] : []),
    ...(view.running ? [`the daemon runs NAT mode ${view.running.nat} (${view.running.reason})${view.running.nat !== view.nat.value ? `; ${view.nat.value} applies at its next start` : ''}`] : []),
    'each value is followed by where it came from: file, cluster, group:NAME, host:NAME or default',
  ];
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  const datapath = doc.get('datapath') as Node;
  annotate(datapath, ['datapath'], () => view.nat.from);
  const services = doc.get('services');
  if (isSeq(services)) {
    services.items.forEach((item, i) => {
      const config = view.served[i];
      const mine = cluster.get(config.name);
      const source = mine && mine.config === config ? (path: string[]) => sourceOf(mine.from, path) : () => 'file';
      annotate(item as Node, [], source);
      if (mine && Object.keys(mine.drained).length && isMap(item)) {
        (item as Node).commentBefore = ` drained in the store: ${Object.entries(mine.drained).map(([b, s]) => `${b} (${s})`).join(', ')}`;
      }
    });
  }
  if (view.problems.length) {
    doc.comment = [' problems (left out, as every host reports them):', ...view.problems.map((p) => `   ${p.message}`)].join('\n');
  }
  return doc.toString({ lineWidth: 0 });
}
