#!/usr/bin/env node
// Figures per file from StrykerJS JSON reports (docs/mutation.md): killed, timed out, survived, no coverage and the
// score, (killed + timed out) / (those four), as Stryker counts it (runtime and compile errors left out), then the
// total; with --survivors, each surviving or uncovered mutant (file:line:column, mutator, replacement).
// Usage: node scripts/mutation-summary.js [--survivors] [--union] reports/mutation/<name>/mutation.json ...
// A file in several reports is counted from the last one named (a re-run after new tests supersedes the first).
// --union: a file's mutants are the first report's, and one survived or uncovered there counts as its status in a
// later report that has the same mutant (place, mutator, replacement) killed or timed out: a run of the whole judge
// and a re-run of the file by the new tests alone (a mutant is detected when any covering test fails).
'use strict';
const fs = require('fs');

const args = process.argv.slice(2);
const showSurvivors = args.includes('--survivors');
const union = args.includes('--union');
const reports = args.filter((arg) => arg !== '--survivors' && arg !== '--union');
if (reports.length === 0) {
  console.error('usage: node scripts/mutation-summary.js [--survivors] reports/mutation/<name>/mutation.json ...');
  process.exit(2);
}

const files = new Map();
const place = (m) => `${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column} ${m.mutatorName} ${m.replacement}`;
const detected = (m) => m.status === 'Killed' || m.status === 'Timeout';
for (const report of reports) {
  const json = JSON.parse(fs.readFileSync(report, 'utf8'));
  for (const [file, result] of Object.entries(json.files)) {
    const first = files.get(file);
    if (!union || !first) {
      files.set(file, result.mutants);
      continue;
    }
    const later = new Map(result.mutants.filter(detected).map((m) => [place(m), m.status]));
    files.set(file, first.map((m) => (!detected(m) && later.has(place(m)) ? { ...m, status: later.get(place(m)) } : m)));
  }
}

const columns = ['Killed', 'Timeout', 'Survived', 'NoCoverage'];
const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
const score = (c) => {
  const all = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  return all === 0 ? 'n/a' : `${((100 * (c.Killed + c.Timeout)) / all).toFixed(1)} %`;
};
console.log(['file', 'mutants', ...columns, 'other', 'score'].join('\t'));
for (const [file, mutants] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
  for (const m of mutants) c[columns.includes(m.status) ? m.status : 'other'] += 1;
  for (const key of Object.keys(total)) total[key] += c[key];
  const counted = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  console.log([file, counted, ...columns.map((k) => c[k]), c.other, score(c)].join('\t'));
}
const counted = total.Killed + total.Timeout + total.Survived + total.NoCoverage;
console.log(['total', counted, ...columns.map((k) => total[k]), total.other, score(total)].join('\t'));

if (showSurvivors) {
  for (const [file, mutants] of files) {
    for (const m of mutants) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
      const { line, column } = m.location.start;
      const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
      console.log(`${file}:${line}:${column}\t${m.status}\t${m.mutatorName}\t${replacement}`);
    }
  }
}
