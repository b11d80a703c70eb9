// What decoding and parsing the tracker's -m listing costs per line, in time and in garbage (issue 15: the listing's
// garbage, read each statistics poll, brought vadc's GC pauses into the first-packet tail). The unixctl answer for N
// connections goes through ListingReplyDecoder in BYTES_PER_SLICE pieces, as the reader feeds it, with no turn of the
// event loop between them (the time is the decoder's alone). Per round: ns per line, bytes allocated per line (V8's
// GCProfiler: what each collection freed, plus the heap's growth), scavenges and mark-compacts. Medians of --rounds.
// --src DIR: the decoder of another tree (e.g. an older commit's src, extracted with git archive), to compare by turns.
//   node -r ts-node/register/transpile-only bench/listing-parse.bench.ts [--connections 5000,100000] [--rounds 5] [--src DIR]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { readingTrackerListing } from './lib/reading-service';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '5000,100000' }, rounds: { type: 'string', default: '5' }, src: { type: 'string' } } });
const SIZES = values.connections.split(',').map(Number);
const ROUNDS = Number(values.rounds);
const SRC = path.resolve(values.src ?? path.join(__dirname, '../src'));
const ZONE = 2780;
const MARK = ((0x1234 << 16) | 1) >>> 0;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ListingReplyDecoder } = require(path.join(SRC, 'daemon/listing-reply')) as typeof import('../src/daemon/listing-reply');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { BYTES_PER_SLICE } = require(path.join(SRC, 'daemon/conntrack-reader')) as typeof import('../src/daemon/conntrack-reader');

interface Round { nsPerLine: number; bytesPerLine: number; scavenges: number; markCompacts: number }

/** V8's GCProfiler statistics, as much of them as used here. */
interface GcStats { statistics: Array<{ gcType: string; beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }> }

function round(answer: Buffer, lines: number): Round {
  global.gc?.();
  const profiler = new v8.GCProfiler();
  const usedBefore = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  const t = process.hrtime.bigint();
  const decoder = new ListingReplyDecoder();
  for (let at = 0; at < answer.length; at += BYTES_PER_SLICE) decoder.push(answer.subarray(at, at + BYTES_PER_SLICE));
  const dump = decoder.reply().dump;
  const ns = Number(process.hrtime.bigint() - t);
  const usedAfter = v8.getHeapStatistics().used_heap_size;
  const stats = profiler.stop() as unknown as GcStats;
  if (dump.entries.length !== lines || dump.malformed.length) throw new Error(`read ${dump.entries.length} entries and ${dump.malformed.length} malformed of ${lines}`);
  let freed = 0;
  let scavenges = 0;
  let markCompacts = 0;
  for (const gc of stats.statistics) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    if (gc.gcType === 'Scavenge') scavenges++;
    else if (gc.gcType === 'MarkSweepCompact') markCompacts++;
  }
  // The dump itself (kept until here) is in the growth: what a poll hands the app counts too.
  return { nsPerLine: ns / lines, bytesPerLine: (freed + usedAfter - usedBefore) / lines, scavenges, markCompacts };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`decoder from ${SRC}; node ${process.version}; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const n of SIZES) {
  const answer = Buffer.from(JSON.stringify({ id: 1, result: readingTrackerListing(n, ZONE, MARK, 'ESTABLISHED', 'm'), error: null }));
  round(answer, n); // warm-up
  const rounds = Array.from({ length: ROUNDS }, () => round(answer, n));
  const pick = (k: keyof Round) => rounds.map((r) => r[k]);
  console.log(JSON.stringify({
    connections: n, answerBytes: answer.length,
    nsPerLine: Math.round(median(pick('nsPerLine'))), nsPerLineRange: [Math.round(Math.min(...pick('nsPerLine'))), Math.round(Math.max(...pick('nsPerLine')))],
    bytesPerLine: Math.round(median(pick('bytesPerLine'))), scavenges: median(pick('scavenges')), markCompacts: median(pick('markCompacts')),
  }));
}
