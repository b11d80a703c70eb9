// One reading of OVS's connection tracker at scale (conntrack mode's accounting, issue 15): what each step costs the
// controller's event loop for N live connections, beside a reference and the ceiling it must stay under.
//   reference: JSON.parse of the same unixctl answer in one call (what the reader did before it decoded in slices);
//   ceiling:   OVS's inactivity probe (5 s): a controller whose event loop is blocked that long is dropped by the
//              switch, and a restarted vadc reading 100,000 back was dropped six times over (2026-12-05).
// The answer is decoded and parsed in slices of BYTES_PER_SLICE (the reader yields between them), so its longest block
// is one slice. Medians of --rounds fresh rounds; prints figures, asserts only that every connection was re-tracked.
// The statistics poll as a whole, with the event loop's longest block, is bench/poll-block.bench.ts.
// --form plain: the listing without -m (what vadc read before it asked with -m, to compare).
//   node -r ts-node/register/transpile-only bench/tracker-reading.bench.ts [--connections 100000] [--rounds 5] [--form m|plain]
import { parseArgs } from 'node:util';
import { LoadBalancerApp } from '../src/app';
import { formatTable } from '../src/cli/table';
import { parseConfig } from '../src/config';
import { BYTES_PER_SLICE } from '../src/daemon/conntrack-reader';
import { ListingReplyDecoder } from '../src/daemon/listing-reply';
import { parseConntrackDump } from '../src/flows/conntrack-dump';
import { serviceIds } from '../src/app/service-ids';
import { readingServiceYaml, readingTrackerListing } from './lib/reading-service';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' }, form: { type: 'string', default: 'm' } } });
const N = Number(values.connections);
const ROUNDS = Number(values.rounds);
const ZONE = 2780;
const PROBE_MS = 5000;
if (values.form !== 'm' && values.form !== 'plain') throw new Error(`--form: m or plain, got ${values.form}`);
const FORM = values.form;

const config = parseConfig(readingServiceYaml(`{ nat: conntrack, ct_zone: ${ZONE}, accounting: conntrack }`), 'bench.yaml');
const mark = ((serviceIds(['web']).get('web')! << 16) | 1) >>> 0;

/** The unixctl answer ovs-vswitchd gives for N established connections, as it goes over the socket. */
function listing(n: number): string {
  return JSON.stringify({ id: 1, result: readingTrackerListing(n, ZONE, mark, 'ESTABLISHED', FORM), error: null });
}

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;

async function round(wire: string): Promise<Record<string, number>> {
  let t = process.hrtime.bigint();
  if (typeof (JSON.parse(wire) as { result: unknown }).result !== 'string') throw new Error('no listing in the answer');
  const jsonMs = ms(t);
  // The reader's own slicing: each slice of the answer's bytes is decoded (and its lines parsed) in one turn, timed here.
  const bytes = Buffer.from(wire);
  const decoder = new ListingReplyDecoder();
  let sliceMs = 0;
  t = process.hrtime.bigint();
  for (let at = 0; at < bytes.length; at += BYTES_PER_SLICE) {
    const sliceStart = process.hrtime.bigint();
    decoder.push(bytes.subarray(at, at + BYTES_PER_SLICE));
    sliceMs = Math.max(sliceMs, ms(sliceStart));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const dump = decoder.reply().dump;
  const parseMs = ms(t);
  const app = new LoadBalancerApp(config.services, { datapath: config.datapath });
  t = process.hrtime.bigint();
  app.restore(1n, { source: 'tracker', entries: dump.entries }, 1000);
  const restoreMs = ms(t);
  const tracked = app.connectionRecords().length;
  if (tracked !== N) throw new Error(`restore re-tracked ${tracked} of ${N}`);
  t = process.hrtime.bigint();
  app.applyAccounting({ source: 'tracker', entries: dump.entries, askedAt: 6000 }, 6000);
  const applyMs = ms(t);
  if (app.connectionRecords().length !== N) throw new Error('a reading that lists every connection closed some');
  return { jsonMs, parseMs, sliceMs, restoreMs, applyMs };
}

const wire = listing(N);
if (parseConntrackDump((JSON.parse(wire) as { result: string }).result).entries.length !== N) throw new Error('listing does not parse');
async function main(): Promise<void> {
  const runs: Record<string, number>[] = [];
  for (let r = 0; r < ROUNDS; r++) runs.push(await round(wire));
  const median = (key: string): number => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
  const spread = (key: string): string => `${Math.min(...runs.map((r) => r[key])).toFixed(0)}-${Math.max(...runs.map((r) => r[key])).toFixed(0)}`;
  const longestBlock = Math.max(median('sliceMs'), median('restoreMs'), median('applyMs'));
  const rows = [
    { step: 'reference: JSON.parse of the answer', ms: median('jsonMs'), spread: spread('jsonMs'), blocks: 'yes (one call; not done)' },
    { step: `decode and parse (${Math.ceil(wire.length / BYTES_PER_SLICE)} slices)`, ms: median('parseMs'), spread: spread('parseMs'), blocks: `longest slice ${median('sliceMs').toFixed(1)} ms` },
    { step: 'restore (re-track all, fresh vadc)', ms: median('restoreMs'), spread: spread('restoreMs'), blocks: 'yes' },
    { step: 'apply (a statistics poll)', ms: median('applyMs'), spread: spread('applyMs'), blocks: 'yes' },
    { step: 'ceiling: OVS inactivity probe', ms: PROBE_MS, spread: '', blocks: `longest block ${longestBlock.toFixed(0)} ms` },
  ];
  process.stdout.write(`tracker reading (${FORM === 'm' ? 'dump-conntrack -m' : 'without -m'}), ${N} established connections (${(wire.length / 1e6).toFixed(1)} MB answer), ${ROUNDS} rounds, medians\n`);
  process.stdout.write(`${formatTable(rows.map((r) => ({ ...r, ms: r.ms.toFixed(0) })), [
    { header: 'STEP', get: 'step' }, { header: 'MS', get: 'ms' }, { header: 'SPREAD', get: 'spread' }, { header: 'EVENT LOOP', get: 'blocks' },
  ])}\n`);
}

void main();
