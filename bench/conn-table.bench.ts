// Connection table: ns per insert and per lookup for IPv4 and IPv6 keys, side by side in one process (issue 16:
// IPv6 keys must not slow IPv4). Medians of 7 rounds of 200,000 connections; prints figures, asserts nothing.
//   node -r ts-node/register/transpile-only bench/conn-table.bench.ts [--keys 200000] [--rounds 7] [--families 4,6]
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/table';
import { Backend, ConnectionTable, type ConnKey } from '../src/lb';
import { ipv6Pair } from '../src/net';
import { clientFold6, vipFold6 } from '../src/lb/conn-key';

const { values } = parseArgs({
  options: { keys: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '7' }, families: { type: 'string', default: '4,6' } },
});
const FAMILIES = values.families.split(',').map(Number).filter((f): f is 4 | 6 => f === 4 || f === 6);
const N = Number(values.keys);
const ROUNDS = Number(values.rounds);
const backend = new Backend({ id: 'a', ip: '10.0.0.1', ip6: 'fd00:2::1', ports: [80] });

/** Sets the scratch key to connection i: 1024 client ports per client address. */
function keyFor(family: 4 | 6, k: ConnKey, i: number): void {
  k.clientPort = 1024 + (i & 1023);
  if (family === 4) {
    k.clientIp = (0xc0a80000 + (i >>> 10)) >>> 0;
    return;
  }
  const p = k.ip6!;
  p.s3 = i >>> 10; // client 2001:db8::<n>
  k.clientIp = clientFold6(p);
}

function round(family: 4 | 6): { insertNs: number; lookupNs: number } {
  const table = new ConnectionTable(1024);
  const k: ConnKey = { proto: 6, clientIp: 0, clientPort: 0, vip: 0x0a000064, vipPort: 80, ip6: undefined };
  if (family === 6) {
    k.ip6 = ipv6Pair([0x20010db8, 0, 0, 0, 0xfd000000, 0, 0, 0x00010100]);
    k.vip = vipFold6(k.ip6);
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) { keyFor(family, k, i); table.insert(k, backend, 0, 'inactive', 0); }
  const t1 = process.hrtime.bigint();
  let hits = 0;
  for (let rep = 0; rep < 5; rep++) for (let i = 0; i < N; i++) { keyFor(family, k, i); if (table.lookup(k)) hits++; }
  const t2 = process.hrtime.bigint();
  if (hits !== 5 * N || table.size !== N) throw new Error(`IPv${family}: ${hits} hits, ${table.size} tracked`);
  return { insertNs: Number(t1 - t0) / N, lookupNs: Number(t2 - t1) / (5 * N) };
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs: Record<4 | 6, { insertNs: number; lookupNs: number }[]> = { 4: [], 6: [] };
// Interleaved, so both families see the same machine load.
for (let r = 0; r < ROUNDS; r++) for (const family of FAMILIES) runs[family].push(round(family));
const rows = FAMILIES.map((family) => {
  const ins = runs[family].map((x) => x.insertNs);
  const look = runs[family].map((x) => x.lookupNs);
  return {
    family: `IPv${family}`, insert: median(ins).toFixed(0), insertSpread: `${Math.min(...ins).toFixed(0)}-${Math.max(...ins).toFixed(0)}`,
    lookup: median(look).toFixed(0), lookupSpread: `${Math.min(...look).toFixed(0)}-${Math.max(...look).toFixed(0)}`,
  };
});
process.stdout.write(`connection table, ${N} connections, ${ROUNDS} rounds interleaved, medians (ns per operation)\n`);
process.stdout.write(`${formatTable(rows, [
  { header: 'FAMILY', get: 'family' }, { header: 'INSERT NS', get: 'insert' }, { header: 'SPREAD', get: 'insertSpread' },
  { header: 'LOOKUP NS', get: 'lookup' }, { header: 'SPREAD', get: 'lookupSpread' },
])}\n`);
