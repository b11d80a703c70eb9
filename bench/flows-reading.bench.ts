// One reading of the switch's connection flows at scale (flows mode's accounting, issues 14 and 15): what a restore
// and a statistics poll cost the controller's event loop for N live connections (2N flows), beside the ceiling.
//   ceiling: OVS's inactivity probe (5 s): a controller whose event loop is blocked that long is dropped by the
//            switch; a standby taking over a master's 100,000 connections restores them this way.
// The flow-stats reply itself is decoded part by part as it arrives (one multipart part, ~64 KB, per turn), so
// what can block is the restore and the poll over the whole reading, timed here.
// Medians of --rounds fresh rounds; prints figures, asserts only that every connection was re-tracked.
//   node -r ts-node/register/transpile-only bench/flows-reading.bench.ts [--connections 100000] [--rounds 5]
import { parseArgs } from 'node:util';
import { LoadBalancerApp } from '../src/app';
import { serviceIds } from '../src/app/service-ids';
import { formatTable } from '../src/cli/table';
import { parseConfig } from '../src/config';
import { buildConnectionFlows, type ConnectionSpec } from '../src/flows/builders';
import { uint32ToIpv4 } from '../src/net';
import type { FlowStats } from '../src/openflow/types';
import { READING_VMS, readingServiceYaml, readingVmMac } from './lib/reading-service';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.connections);
const ROUNDS = Number(values.rounds);
const PROBE_MS = 5000;
const VMS = READING_VMS;
const mac = readingVmMac;

const config = parseConfig(readingServiceYaml('{ nat: flows }'), 'bench.yaml');
const serviceId = serviceIds(['web']).get('web')!;

/** The flow-stats entries the switch lists for N connections: each one's forward and reverse NAT flow. */
function flowStats(n: number): FlowStats[] {
  const entries: FlowStats[] = [];
  for (let i = 0; i < n; i++) {
    const vm = VMS[i % VMS.length];
    const conn: ConnectionSpec = {
      serviceId, connectionId: i + 1, protocol: 'tcp', idleTimeout: 60, finTimeout: 2,
      client: { ofport: 1, mac: '52:54:00:00:01:01', ip: uint32ToIpv4((0x0a010000 + (i >>> 10)) >>> 0), port: 1024 + (i & 1023) },
      vip: { mac: '02:00:00:00:00:64', ip: '10.0.0.100', port: 80 },
      backend: { ofport: 2 + VMS.indexOf(vm), mac: mac(vm), ip: `10.0.0.${vm}`, port: 8080 },
    };
    for (const flow of buildConnectionFlows(conn)) {
      entries.push({
        tableId: flow.tableId, durationSec: 30, durationNsec: 0, priority: flow.priority, idleTimeout: flow.idleTimeout,
        hardTimeout: 0, flags: 0, cookie: flow.cookie, packetCount: 7n, byteCount: 900n, match: flow.match, instructions: flow.instructions,
      });
    }
  }
  return entries;
}

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;
/** CPU milliseconds of this process since `from` (every thread: the collector's helpers count too). */
const cpuMs = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};

function round(entries: FlowStats[]): Record<string, number> {
  const app = new LoadBalancerApp(config.services, { datapath: config.datapath });
  let t = process.hrtime.bigint();
  let cpu = process.cpuUsage();
  app.restore(1n, { source: 'flow_stats', entries }, 1000);
  const restoreMs = ms(t);
  const restoreCpuMs = cpuMs(cpu);
  const tracked = app.connectionRecords().length;
  if (tracked !== N) throw new Error(`restore re-tracked ${tracked} of ${N}`);
  t = process.hrtime.bigint();
  cpu = process.cpuUsage();
  app.applyAccounting({ source: 'flow_stats', entries }, 6000);
  const applyMs = ms(t);
  const applyCpuMs = cpuMs(cpu);
  if (app.connectionRecords().length !== N) throw new Error('a reading that lists every connection closed some');
  return { restoreMs, restoreCpuMs, applyMs, applyCpuMs };
}

const entries = flowStats(N);
const runs: Record<string, number>[] = [];
for (let r = 0; r < ROUNDS; r++) runs.push(round(entries));
const median = (key: string): number => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
const spread = (key: string): string => `${Math.min(...runs.map((r) => r[key])).toFixed(0)}-${Math.max(...runs.map((r) => r[key])).toFixed(0)}`;
const rows = [
  { step: 'restore (re-track all, fresh vadc)', ms: median('restoreMs'), spread: spread('restoreMs'), cpu: median('restoreCpuMs').toFixed(0) },
  { step: 'apply (a statistics poll)', ms: median('applyMs'), spread: spread('applyMs'), cpu: median('applyCpuMs').toFixed(0) },
  { step: 'ceiling: OVS inactivity probe', ms: PROBE_MS, spread: '', cpu: '' },
];
process.stdout.write(`flows reading, ${N} connections (${entries.length} flows), ${ROUNDS} rounds, medians\n`);
process.stdout.write(`${formatTable(rows.map((r) => ({ ...r, ms: r.ms.toFixed(0) })), [
  { header: 'STEP', get: 'step' }, { header: 'MS (BLOCKS THE EVENT LOOP)', get: 'ms' }, { header: 'SPREAD', get: 'spread' },
  { header: 'CPU MS', get: 'cpu' },
])}\n`);
