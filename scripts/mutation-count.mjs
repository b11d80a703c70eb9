#!/usr/bin/env node
// How many mutants StrykerJS makes of src/lb, src/flows and src/openflow (as `npm run mutation` mutates them: index.ts
// files left out), per file, per directory and in total: the denominator for "how much is measured" in
// docs/mutation.md. Runs the instrumenter only, no tests (a few seconds).
// Usage: node scripts/mutation-count.mjs
import { Instrumenter } from '@stryker-mutator/instrumenter';
import fs from 'node:fs';
import path from 'node:path';

const dirs = ['src/lb', 'src/flows', 'src/openflow'];
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
  const full = path.join(dir, e.name);
  return e.isDirectory() ? walk(full) : e.name.endsWith('.ts') && e.name !== 'index.ts' ? [full] : [];
});
const files = dirs.flatMap(walk).sort();
const quiet = { isDebugEnabled: () => false, isTraceEnabled: () => false, debug() {}, trace() {}, info() {}, warn() {}, error() {} };
const result = await new Instrumenter(quiet).instrument(
  files.map((name) => ({ name, content: fs.readFileSync(name, 'utf8'), mutate: true })),
  { plugins: null, excludedMutations: [], ignorers: [], noHeader: false },
);
const perFile = new Map(files.map((f) => [f, 0]));
for (const m of result.mutants) {
  const file = path.relative(process.cwd(), m.fileName);
  perFile.set(file, (perFile.get(file) ?? 0) + 1);
}
const perDir = new Map(dirs.map((d) => [d, 0]));
for (const [file, n] of perFile) {
  console.log(`${file}\t${n}`);
  const dir = dirs.find((d) => file.startsWith(`${d}/`));
  perDir.set(dir, perDir.get(dir) + n);
}
for (const [dir, n] of perDir) console.log(`${dir}\t${n}`);
console.log(`total\t${result.mutants.length}`);
