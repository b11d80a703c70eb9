#!/usr/bin/env node
// Compares V8 heap snapshots of one process (e.g. the resilience soak's, VADC_MEMORY_SNAPSHOTS): what grows.
//   node scripts/heap-diff.js A.heapsnapshot B.heapsnapshot [C.heapsnapshot] [--top N] [--paths K]
// Prints, per (node type, constructor/name): count and self size in A and B and the difference, largest growth first.
// Then the objects born between A and B (heap object ids are stable within a process: an id in B but not in A) that
// are still alive in C when C is given (the "three snapshots" method: what survives is a leak candidate), grouped
// the same way, and for the largest groups K sample retainer paths (from the object towards the GC roots, weak
// edges skipped).
'use strict';
const { readFileSync } = require('node:fs');

function load(file) {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const meta = s.snapshot.meta;
  const nf = meta.node_fields;
  const ef = meta.edge_fields;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const iType = nf.indexOf('type');
  const iName = nf.indexOf('name');
  const iId = nf.indexOf('id');
  const iSize = nf.indexOf('self_size');
  const iEdges = nf.indexOf('edge_count');
  const eType = ef.indexOf('type');
  const eName = ef.indexOf('name_or_index');
  const eTo = ef.indexOf('to_node');
  const nodes = s.nodes;
  const edges = s.edges;
  const strings = s.strings;
  const count = nodes.length / N;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * N + iEdges] * E;
    firstEdge[i + 1] = e;
  }
  const type = (i) => nodeTypes[nodes[i * N + iType]];
  const name = (i) => strings[nodes[i * N + iName]];
  const id = (i) => nodes[i * N + iId];
  const size = (i) => nodes[i * N + iSize];
  const label = (i) => {
    const t = type(i);
    const n = name(i);
    if (t === 'string' || t === 'concatenated string' || t === 'sliced string') return `(${t})`;
    if (t === 'number' || t === 'hidden' || t === 'array' || t === 'code' || t === 'native' || t === 'object shape') return `(${t}) ${n.slice(0, 60)}`;
    if (t === 'closure') return `(closure) ${n.slice(0, 60)}`;
    return `${t === 'object' ? '' : `(${t}) `}${n.slice(0, 80)}`;
  };
  let retainers;
  const retainersOf = (i) => {
    if (!retainers) {
      // Reverse edges: for each node, the (from node, edge index) pairs pointing at it.
      const inCount = new Uint32Array(count + 1);
      for (let e = 0; e < edges.length; e += E) inCount[edges[e + eTo] / N]++;
      const start = new Uint32Array(count + 1);
      for (let i = 0; i < count; i++) start[i + 1] = start[i] + inCount[i];
      const fill = start.slice();
      const from = new Uint32Array(edges.length / E);
      const via = new Uint32Array(edges.length / E);
      for (let i = 0; i < count; i++) {
        for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += E) {
          const to = edges[e + eTo] / N;
          from[fill[to]] = i;
          via[fill[to]++] = e;
        }
      }
      retainers = { start, from, via };
    }
    const out = [];
    for (let k = retainers.start[i]; k < retainers.start[i + 1]; k++) out.push([retainers.from[k], retainers.via[k]]);
    return out;
  };
  const edgeLabel = (e) => {
    const t = edgeTypes[edges[e + eType]];
    const v = edges[e + eName];
    return t === 'element' || t === 'hidden' ? `[${v}]` : `.${strings[v]}`;
  };
  const isWeak = (e) => edgeTypes[edges[e + eType]] === 'weak';
  const edgesOf = (i) => {
    const out = [];
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += E) out.push([edges[e + eTo] / N, e]);
    return out;
  };
  return { file, count, type, name, id, size, label, retainersOf, edgesOf, edgeLabel, isWeak };
}

function group(snap, filter) {
  const g = new Map();
  for (let i = 0; i < snap.count; i++) {
    if (filter && !filter(i)) continue;
    const k = snap.label(i);
    const x = g.get(k) ?? { count: 0, size: 0, sample: [] };
    x.count++;
    x.size += snap.size(i);
    if (x.sample.length < 64) x.sample.push(i);
    g.set(k, x);
  }
  return g;
}

/** A path from node i towards the roots: breadth first over retainers, weak edges skipped, at most `depth` steps. */
function retainerPath(snap, i, depth = 14) {
  const seen = new Map([[i, null]]);
  let frontier = [i];
  for (let d = 0; d < depth && frontier.length; d++) {
    const next = [];
    for (const n of frontier) {
      for (const [from, e] of snap.retainersOf(n)) {
        if (snap.isWeak(e) || seen.has(from)) continue;
        seen.set(from, [n, e]);
        const t = snap.type(from);
        if (t === 'synthetic' || /^\(GC roots\)|^\(Global handles\)/.test(snap.name(from)) || snap.name(from).startsWith('Window') || snap.name(from) === 'global') {
          const steps = [];
          for (let at = from; seen.get(at); at = seen.get(at)[0]) steps.push(`${snap.label(at)}${snap.edgeLabel(seen.get(at)[1])}`);
          return [...steps, snap.label(i)].join(' -> ');
        }
        next.push(from);
      }
    }
    frontier = next.slice(0, 20000);
  }
  // No root within reach: show the nearest retainers.
  return `${snap.retainersOf(i).filter(([, e]) => !snap.isWeak(e)).slice(0, 4).map(([f, e]) => `${snap.label(f)}${snap.edgeLabel(e)}`).join(' | ')} -> ${snap.label(i)}`;
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const k = args.indexOf(name);
    if (k < 0) return dflt;
    const v = Number(args[k + 1]);
    args.splice(k, 2);
    return v;
  };
  const top = opt('--top', 30);
  const paths = opt('--paths', 3);
  const ownersFlag = args.indexOf('--owners');
  const owners = ownersFlag >= 0;
  if (owners) args.splice(ownersFlag, 1);
  if (args.length < 2) {
    console.error('usage: heap-diff.js A.heapsnapshot B.heapsnapshot [C.heapsnapshot] [--top N] [--paths K]');
    process.exit(2);
  }
  const [a, b, c] = args.map(load);
  const ga = group(a);
  const gb = group(b);
  const rows = [...new Set([...ga.keys(), ...gb.keys()])].map((k) => {
    const x = ga.get(k) ?? { count: 0, size: 0 };
    const y = gb.get(k) ?? { count: 0, size: 0 };
    return { k, ca: x.count, cb: y.count, sa: x.size, sb: y.size };
  });
  const total = (g) => [...g.values()].reduce((s, x) => s + x.size, 0);
  console.log(`A ${a.file}: ${a.count} nodes, ${(total(ga) / 2 ** 20).toFixed(2)} MiB; B ${b.file}: ${b.count} nodes, ${(total(gb) / 2 ** 20).toFixed(2)} MiB`);
  console.log('\nlargest growth A -> B (self size):');
  console.log('   d bytes   d count   count A   count B  group');
  rows.sort((x, y) => (y.sb - y.sa) - (x.sb - x.sa));
  for (const r of rows.slice(0, top)) console.log(`${String(r.sb - r.sa).padStart(10)} ${String(r.cb - r.ca).padStart(9)} ${String(r.ca).padStart(9)} ${String(r.cb).padStart(9)}  ${r.k}`);
  console.log('\nlargest shrink A -> B:');
  for (const r of rows.slice(-8).reverse()) console.log(`${String(r.sb - r.sa).padStart(10)} ${String(r.cb - r.ca).padStart(9)} ${String(r.ca).padStart(9)} ${String(r.cb).padStart(9)}  ${r.k}`);

  // Born between A and B (ids not in A, and not newer than B's largest id when C is given), alive in the last snapshot.
  const idsA = new Set();
  for (let i = 0; i < a.count; i++) idsA.add(a.id(i));
  let maxB = 0;
  // Synthetic and native nodes carry ids from another range (hashes of addresses): only heap objects count.
  for (let i = 0; i < b.count; i++) if (b.type(i) !== 'synthetic' && b.type(i) !== 'native') maxB = Math.max(maxB, b.id(i));
  const last = c ?? b;
  const born = group(last, (i) => last.type(i) !== 'synthetic' && last.type(i) !== 'native' && !idsA.has(last.id(i)) && last.id(i) <= maxB);
  const bornRows = [...born.entries()].sort((x, y) => y[1].size - x[1].size);
  const bornTotal = bornRows.reduce((s, [, x]) => s + x.size, 0);
  console.log(`\nborn between A and B, alive in ${last.file}: ${bornRows.reduce((s, [, x]) => s + x.count, 0)} objects, ${bornTotal} bytes`);
  for (const [k, x] of bornRows.slice(0, top)) console.log(`${String(x.size).padStart(10)} ${String(x.count).padStart(9)}  ${k}`);
  if (owners) {
    // Each born object outside V8's code and shapes, by the nearest retainer that is an instance of a named class
    // (not Object, Array, Map, Set or V8's own): which structure of the program holds what was born.
    const byOwner = new Map();
    const plain = /^(Object|Array|Map|Set|\(.*|system \/.*)$/;
    for (let i = 0; i < last.count; i++) {
      const t = last.type(i);
      if (t === 'synthetic' || t === 'native' || t === 'code' || t === 'object shape' || t === 'closure') continue;
      if (idsA.has(last.id(i)) || last.id(i) > maxB) continue;
      const p = retainerPath(last, i, 10).split(' -> ');
      let owner = '(none within 10 steps)';
      for (let k = p.length - 2; k >= 0; k--) {
        const cls = p[k].replace(/[.[].*$/, '');
        if (!plain.test(cls) && cls) {
          owner = p[k];
          break;
        }
      }
      const x = byOwner.get(owner) ?? { count: 0, size: 0 };
      x.count++;
      x.size += last.size(i);
      byOwner.set(owner, x);
    }
    console.log('\nborn objects (no code, shapes or closures) by their nearest named retainer:');
    for (const [k, x] of [...byOwner.entries()].sort((p, q) => q[1].size - p[1].size).slice(0, top)) console.log(`${String(x.size).padStart(10)} ${String(x.count).padStart(9)}  ${k}`);
  }
  if (paths > 0) {
    console.log('\nretainer paths (root ... -> object) of the largest born groups:');
    for (const [k, x] of bornRows.slice(0, Math.min(top, 12))) {
      console.log(`\n* ${k} (${x.count} objects, ${x.size} bytes)`);
      const step = Math.max(1, Math.floor(x.sample.length / paths));
      for (let s = 0, shown = 0; s < x.sample.length && shown < paths; s += step, shown++) console.log(`  ${retainerPath(last, x.sample[s])}`);
    }
  }
}

if (require.main === module) main();
module.exports = { load };
