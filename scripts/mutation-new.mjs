#!/usr/bin/env node
// Which mutants a file gained or lost between a commit and the working tree (docs/mutation.md: a file whose code
// changed since its Stryker run needs only its new mutants measured). Instruments the file at both versions (the
// instrumenter only, no tests: a few seconds) and matches the mutants by mutator, replacement and mutated text
// (whitespace folded), not by position, so code that only moved matches. When one text occurs more than once the
// match takes them in order: an added copy may then be reported at a later, unchanged line (the new one is the
// copy in the changed code), so read the list beside `git diff`, and mutate whole functions around the changes.
// Usage: node scripts/mutation-new.mjs <commit> <file>...   (files relative to the repository root)
import { Instrumenter } from '@stryker-mutator/instrumenter';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const [commit, ...files] = process.argv.slice(2);
if (!commit || files.length === 0) {
  console.error('usage: node scripts/mutation-new.mjs <commit> <file>...');
  process.exit(2);
}
const quiet = { isDebugEnabled: () => false, isTraceEnabled: () => false, debug() {}, trace() {}, info() {}, warn() {}, error() {} };

/** The mutants of one version of a file: location (1-based line:column), mutator, replacement and mutated text. */
async function mutantsOf(name, content) {
  const result = await new Instrumenter(quiet).instrument([{ name, content, mutate: true }],
    { plugins: null, excludedMutations: [], ignorers: [], noHeader: false });
  const lines = content.split('\n');
  return result.mutants.map((m) => {
    const s = m.location.start;
    const e = m.location.end;
    const text = s.line === e.line ? lines[s.line].slice(s.column, e.column)
      : [lines[s.line].slice(s.column), ...lines.slice(s.line + 1, e.line), lines[e.line].slice(0, e.column)].join('\n');
    return {
      loc: `${s.line + 1}:${s.column + 1}-${e.line + 1}:${e.column + 1}`,
      key: `${m.mutatorName}|${m.replacement}|${text.replace(/\s+/g, ' ')}`,
      mutator: m.mutatorName,
      replacement: String(m.replacement),
    };
  });
}

for (const file of files) {
  const before = await mutantsOf(file, execFileSync('git', ['show', `${commit}:${file}`], { encoding: 'utf8' }));
  const after = await mutantsOf(file, fs.readFileSync(file, 'utf8'));
  const pool = new Map();
  for (const m of before) pool.set(m.key, (pool.get(m.key) ?? 0) + 1);
  const added = [];
  for (const m of after) {
    const n = pool.get(m.key) ?? 0;
    if (n > 0) pool.set(m.key, n - 1);
    else added.push(m);
  }
  const gone = before.filter((m) => {
    const n = pool.get(m.key) ?? 0;
    if (n === 0) return false;
    pool.set(m.key, n - 1);
    return true;
  });
  console.log(`${file}: ${before.length} at ${commit}, ${after.length} now; ${added.length} added, ${gone.length} gone`);
  for (const m of added) console.log(`+ ${m.loc}\t${m.mutator}\t${m.replacement.replace(/\s+/g, ' ').slice(0, 80)}`);
  for (const m of gone) console.log(`- ${m.loc} (then)\t${m.mutator}\t${m.replacement.replace(/\s+/g, ' ').slice(0, 80)}`);
}
