// From a V8 .cpuprofile (node --cpu-prof) to folded stacks, a self-time table and a flame graph SVG.
// Pure: text in, text out.
import { BenchInputError } from './realovs-stats';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export function parseCpuProfile(text: string): CpuProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BenchInputError(`not a .cpuprofile (JSON): ${(err as Error).message}`);
  }
  const profile = doc as Partial<CpuProfile>;
  if (!Array.isArray(profile.nodes) || profile.nodes.length === 0 || typeof profile.nodes[0]?.callFrame !== 'object') {
    throw new BenchInputError('not a .cpuprofile: no nodes with call frames');
  }
  return profile as CpuProfile;
}

/** "name file:line"; file is the path below src/ when there is one, else the last path segment. */
export function frameLabel(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const url = frame.url.replace(/^file:\/\//, '');
  const inSrc = url.lastIndexOf('/src/');
  const file = inSrc >= 0 ? url.slice(inSrc + 1) : url.slice(url.lastIndexOf('/') + 1);
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

/**
 * Folded stacks ("root;caller;callee" -> samples), as flamegraph tools read them. (root) is left out;
 * (idle) too, so the graph shows where busy time went.
 */
export function foldStacks(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  if (profile.samples?.length) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of profile.nodes) if (n.hitCount) hits.set(n.id, n.hitCount);
  const folded = new Map<string, number>();
  for (const [id, count] of hits) {
    const names: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node) throw new BenchInputError(`profile sample refers to unknown node ${at}`);
      if (node.callFrame.functionName !== '(root)') names.push(frameLabel(node.callFrame));
    }
    if (names.length === 0 || names[0] === '(idle)') continue;
    const stack = names.reverse().join(';');
    folded.set(stack, (folded.get(stack) ?? 0) + count);
  }
  return folded;
}

/** Only the stacks through a frame containing `pattern`, re-rooted at that frame (e.g. 'onPacketIn'). */
export function focusStacks(folded: ReadonlyMap<string, number>, pattern: string): Map<string, number> {
  const focused = new Map<string, number>();
  for (const [stack, n] of folded) {
    const frames = stack.split(';');
    const at = frames.findIndex((f) => f.includes(pattern));
    if (at < 0) continue;
    const rest = frames.slice(at).join(';');
    focused.set(rest, (focused.get(rest) ?? 0) + n);
  }
  return focused;
}

export function foldedText(folded: ReadonlyMap<string, number>): string {
  return [...folded].sort((a, b) => b[1] - a[1]).map(([stack, n]) => `${stack} ${n}`).join('\n') + '\n';
}

export interface SelfCost {
  frame: string;
  samples: number;
  /** Percent of all busy samples. */
  percent: number;
}

/** The frames with the most self time (leaf samples), heaviest first. */
export function topSelf(folded: ReadonlyMap<string, number>, limit: number): SelfCost[] {
  const self = new Map<string, number>();
  let total = 0;
  for (const [stack, n] of folded) {
    const leaf = stack.slice(stack.lastIndexOf(';') + 1);
    self.set(leaf, (self.get(leaf) ?? 0) + n);
    total += n;
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, limit)
    .map(([frame, samples]) => ({ frame, samples, percent: total ? (samples / total) * 100 : 0 }));
}

/** Inclusive samples of every frame (counted once per stack even when recursive), heaviest first. */
export function topInclusive(folded: ReadonlyMap<string, number>, limit: number): SelfCost[] {
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const [stack, n] of folded) {
    for (const frame of new Set(stack.split(';'))) inclusive.set(frame, (inclusive.get(frame) ?? 0) + n);
    total += n;
  }
  return [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, limit)
    .map(([frame, samples]) => ({ frame, samples, percent: total ? (samples / total) * 100 : 0 }));
}

interface FlameNode {
  name: string;
  total: number;
  children: Map<string, FlameNode>;
}

function buildTree(folded: ReadonlyMap<string, number>): FlameNode {
  const root: FlameNode = { name: 'all', total: 0, children: new Map() };
  for (const [stack, n] of folded) {
    root.total += n;
    let node = root;
    for (const name of stack.split(';')) {
      let child = node.children.get(name);
      if (!child) {
        child = { name, total: 0, children: new Map() };
        node.children.set(name, child);
      }
      child.total += n;
      node = child;
    }
  }
  return root;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Warm colours by a stable hash of the name, so a frame keeps its colour across graphs. */
function colour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) >>> 0;
  const vadc = name.includes(' src/');
  const hue = vadc ? 20 + (h % 30) : 45 + (h % 15);
  return `hsl(${hue},${vadc ? 85 : 60}%,${55 + (h % 15)}%)`;
}

export interface FlameOptions {
  title: string;
  width?: number;
  rowHeight?: number;
}

/** A static flame graph (root at the bottom); each box's title tooltip gives samples and share. */
export function renderFlameSvg(folded: ReadonlyMap<string, number>, opts: FlameOptions): string {
  const width = opts.width ?? 1200;
  const row = opts.rowHeight ?? 17;
  const root = buildTree(folded);
  if (root.total === 0) throw new BenchInputError('no busy samples to draw');
  let depth = 0;
  const measure = (node: FlameNode, d: number): void => {
    depth = Math.max(depth, d);
    for (const c of node.children.values()) measure(c, d + 1);
  };
  measure(root, 0);
  const top = 40;
  const height = top + (depth + 1) * row + 10;
  const perSample = width / root.total;
  const boxes: string[] = [];
  const draw = (node: FlameNode, x: number, d: number): void => {
    const w = node.total * perSample;
    if (w < 1) return; // sub-pixel boxes only bloat the file
    const y = height - 10 - (d + 1) * row;
    const share = ((node.total / root.total) * 100).toFixed(2);
    const label = w > 40 ? escapeXml(node.name.slice(0, Math.floor(w / 7))) : '';
    boxes.push(`<g><title>${escapeXml(node.name)} (${node.total} samples, ${share}%)</title>` +
      `<rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${row - 1}" fill="${colour(node.name)}" rx="2"/>` +
      (label ? `<text x="${(x + 3).toFixed(2)}" y="${y + row - 5}">${label}</text>` : '') + '</g>');
    let cx = x;
    for (const c of [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      draw(c, cx, d + 1);
      cx += c.total * perSample;
    }
  };
  draw(root, 0, 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdf6"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(opts.title)}</text>`,
    ...boxes,
    '</svg>',
    '',
  ].join('\n');
}
