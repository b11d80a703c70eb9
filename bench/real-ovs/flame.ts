// Turns a node --cpu-prof profile into a flame graph SVG, folded stacks and the heaviest frames.
//   node -r ts-node/register/transpile-only bench/real-ovs/flame.ts PROFILE.cpuprofile --svg OUT.svg
//     [--folded OUT.folded] [--title TEXT] [--top 20] [--focus FRAME] [--json]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/table';
import { focusStacks, foldStacks, foldedText, parseCpuProfile, renderFlameSvg, topInclusive, topSelf } from '../lib/scale-flame';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    svg: { type: 'string' }, folded: { type: 'string' }, title: { type: 'string', default: 'CPU profile' },
    top: { type: 'string', default: '20' }, focus: { type: 'string' }, json: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) throw new Error('usage: flame.ts PROFILE.cpuprofile [--svg OUT.svg] [--folded OUT] [--top N] [--json]');
const all = foldStacks(parseCpuProfile(readFileSync(positionals[0], 'utf8')));
const folded = values.focus ? focusStacks(all, values.focus) : all;
if (values.svg) writeFileSync(values.svg, renderFlameSvg(folded, { title: values.title }));
if (values.folded) writeFileSync(values.folded, foldedText(folded));
const limit = Number(values.top);
const self = topSelf(folded, limit);
const inclusive = topInclusive(folded, limit);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ self, inclusive }, null, 2)}\n`);
} else {
  const columns = [
    { header: 'SAMPLES', get: 'samples' as const }, { header: '%', get: (r: { percent: number }) => r.percent.toFixed(1) },
    { header: 'FRAME', get: 'frame' as const },
  ];
  process.stdout.write(`self time (top ${limit})\n${formatTable(self, columns)}\n\ninclusive time (top ${limit})\n${formatTable(inclusive, columns)}\n`);
}
