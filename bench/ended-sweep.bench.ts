// The sweep of ended connections (ConnectionTable.sweepEnded, issue 15): its cost per statistics poll with 100,000 live
// and 100,000 ended connections, beside one walk of the whole table (what a sweep by scanning would cost each poll).
// Medians of --rounds rounds; prints figures, asserts nothing.
//   node -r ts-node/register/transpile-only bench/ended-sweep.bench.ts [--live 100000] [--ended 100000] [--rate 3000] [--rounds 5]
import { parseArgs } from 'node:util';
import { Backend, ConnectionTable, type ConnKey } from '../src/lb';

const { values } = parseArgs({
  options: { live: { type: 'string', default: '100000' }, ended: { type: 'string', default: '100000' }, rate: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '5' } },
});
const LIVE = Number(values.live);
const ENDED = Number(values.ended);
const RATE = Number(values.rate); // ends a second in the steady phase
const ROUNDS = Number(values.rounds);
const KEPT_MS = 2000; // vadc's default close timeout
const POLL_MS = 2000;
const SLICE = 500; // StatsPoller's ENTRIES_PER_SLICE
const backend = new Backend({ id: 'a', ip: '10.0.0.1', ports: [80] });

const keyFor = (k: ConnKey, i: number): ConnKey => {
  k.clientIp = (0xc0a80000 + (i >>> 10)) >>> 0;
  k.clientPort = 1024 + (i & 1023);
  return k;
};
const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;

function round(): { burstMs: number; pollMs: number[]; idleMs: number; walkMs: number; swept: number } {
  const t = new ConnectionTable(1024, { endedKeptMs: KEPT_MS });
  const k: ConnKey = { proto: 6, clientIp: 0, clientPort: 0, vip: 0x0a000064, vipPort: 80 };
  let i = 0;
  for (; i < LIVE; i++) t.insert(keyFor(k, i), backend, 0, 'active', 0);
  // 100,000 ended over the last ENDED / RATE seconds before now = 60 s (the table a minute's spacing left behind).
  const now0 = 60_000;
  for (let e = 0; e < ENDED; e++, i++) {
    const at = now0 - (ENDED - e) * (1000 / RATE);
    t.insert(keyFor(k, i), backend, 0, 'active', at);
    t.markEnd(k, 'client', true, at);
  }
  // A walk of the whole table (what a scan per poll costs): judgeOpen with nothing to judge.
  let w = process.hrtime.bigint();
  t.judgeOpen(now0, Infinity, () => undefined);
  const walkMs = ms(w);
  // The first poll: every ended connection older than the close timeout goes, SLICE a turn.
  w = process.hrtime.bigint();
  let swept = 0;
  for (let n = SLICE; n === SLICE;) swept += n = t.sweepEnded(now0, SLICE);
  const burstMs = ms(w);
  // Steady: RATE ends a second (each a connection opened then), a poll each POLL_MS: one poll's worth goes each time.
  const pollMs: number[] = [];
  let now = now0;
  for (let p = 0; p < 10; p++) {
    for (let e = 0; e < (RATE * POLL_MS) / 1000; e++, i++) {
      const at = now + e * (1000 / RATE);
      t.insert(keyFor(k, i), backend, 0, 'active', at);
      t.markEnd(k, 'backend', false, at);
      t.markEnd(k, 'client', false, at);
    }
    now += POLL_MS;
    w = process.hrtime.bigint();
    for (let n = SLICE; n === SLICE;) n = t.sweepEnded(now, SLICE);
    pollMs.push(ms(w));
  }
  w = process.hrtime.bigint();
  t.sweepEnded(now, SLICE); // nothing more is due
  const idleMs = ms(w);
  return { burstMs, pollMs, idleMs, walkMs, swept };
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rounds = Array.from({ length: ROUNDS }, round);
const f = (x: number) => x.toFixed(3);
const spread = (xs: number[]) => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
process.stdout.write(`ended-connection sweep: ${LIVE} live + ${ENDED} ended, close timeout ${KEPT_MS} ms, ${RATE} ends/s, a poll each ${POLL_MS} ms; ${ROUNDS} rounds, medians (spread) in ms\n`);
process.stdout.write(`  one walk of the whole table (a scan per poll): ${f(median(rounds.map((r) => r.walkMs)))} (${spread(rounds.map((r) => r.walkMs))})\n`);
process.stdout.write(`  first poll, ${rounds[0].swept} ended older than the close timeout: ${f(median(rounds.map((r) => r.burstMs)))} (${spread(rounds.map((r) => r.burstMs))}) in slices of ${SLICE}\n`);
const polls = rounds.map((r) => median(r.pollMs));
process.stdout.write(`  steady poll, ${(RATE * POLL_MS) / 1000} ended a poll: ${f(median(polls))} (${spread(polls)}); a poll with none due: ${f(median(rounds.map((r) => r.idleMs)))}\n`);
