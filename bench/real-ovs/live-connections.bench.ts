// Many concurrent live connections through real OVS (issue 15, scale): N held connections through one VIP, spread
// over client namespaces and processes; vadc's count (`vadc status`), the datapath's (the tracker in conntrack
// mode, the connection flows in flows mode), the clients' and the servers' side by side; vadc's RSS and CPU while
// holding; the time a restarted vadc (SIGTERM + start) takes to track them all again. Root; not a test; prints figures.
//   node -r ts-node/register/transpile-only bench/real-ovs/live-connections.bench.ts [--connections 100000]
//     [--clients 4] [--processes 2] [--vms 6] [--concurrency 64] [--nat flows|conntrack (default: the config's auto)]
//     [--decisions controller|datapath (datapath: OVS's select group picks, conntrack mode only)] [--no-restart] [--vadc-log FILE (default /tmp/vadc-live-bench.log)] [--json]
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/table';
import { runLiveConnectionsBench, type LiveCounts } from '../lib/live-connections';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '4' },
    processes: { type: 'string', default: '2' },
    vms: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '64' },
    nat: { type: 'string' },
    decisions: { type: 'string', default: 'controller' },
    'no-restart': { type: 'boolean', default: false },
    'wait-ms': { type: 'string', default: '600000' },
    'open-timeout-ms': { type: 'string', default: '300000' },
    'vadc-log': { type: 'string', default: '/tmp/vadc-live-bench.log' },
    json: { type: 'boolean', default: false },
  },
});

function positive(name: string): number {
  const n = Number(values[name as keyof typeof values]);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a whole number >= 1, got ${JSON.stringify(values[name as keyof typeof values])}\n`);
    process.exit(2);
  }
  return n;
}

const countsLine = (c: LiveCounts) => [
  `clients ${c.clientsOpen}`, `servers ${c.serversOpen}`, `vadc status ${c.vadcStatus}`,
  ...(c.trackerTotal !== undefined ? [`tracker ${c.trackerTotal} (ESTABLISHED ${c.trackerEstablished})`] : [`flows forward ${c.forwardFlows}, reverse ${c.reverseFlows}`]),
].join(', ');

async function main(): Promise<void> {
  if (values.nat !== undefined && values.nat !== 'flows' && values.nat !== 'conntrack') {
    process.stderr.write(`--nat must be flows or conntrack, not ${JSON.stringify(values.nat)}\n`);
    process.exit(2);
  }
  if (values.decisions !== 'controller' && values.decisions !== 'datapath') {
    process.stderr.write(`--decisions must be controller or datapath, not ${JSON.stringify(values.decisions)}\n`);
    process.exit(2);
  }
  if (values.decisions === 'datapath' && values.nat === 'flows') {
    process.stderr.write('--decisions datapath needs conntrack NAT (vadc refuses datapath decisions in flows mode)\n');
    process.exit(2);
  }
  const report = await runLiveConnectionsBench({
    connections: positive('connections'), clients: positive('clients'), processes: positive('processes'), vms: positive('vms'),
    concurrency: positive('concurrency'), ...(values.nat ? { nat: values.nat as 'flows' | 'conntrack' } : {}), decisions: values.decisions, restart: !values['no-restart'],
    waitForHostMs: Number(values['wait-ms']), openTimeoutMs: Number(values['open-timeout-ms']), vadcLogFile: values['vadc-log'], log: (line) => process.stderr.write(`${line}\n`),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...report }, null, 2)}\n`);
    return;
  }
  const r = report.restart;
  const rows = [
    { what: 'NAT mode', value: `${report.nat} (${report.natReason})` },
    { what: 'decisions', value: report.decisions },
    { what: 'connections requested / opened / failed', value: `${report.requested} / ${report.opened} / ${report.failed} (in ${report.openSeconds.toFixed(1)} s)` },
    { what: 'held: every count', value: countsLine(report.held) },
    { what: 'held: all agree', value: report.agree ? 'yes' : 'NO' },
    { what: 'vadc RSS (peak)', value: `${report.vadcRssMiB.toFixed(0)} MiB (${report.vadcPeakRssMiB.toFixed(0)})` },
    { what: 'vadc CPU while holding (10 s)', value: `${report.vadcIdleCpuPercent.toFixed(1)} % of a core` },
    { what: 'tracker limit (ct-get-maxconns)', value: String(report.trackerMaxConns) },
    { what: 'vadc status: failed calls / slowest answer', value: `${report.statusFailures} / ${report.slowestStatusMs} ms` },
    ...(r ? [
      { what: 'restart: SIGTERM to exit', value: `${r.stopMs} ms` },
      { what: 'restart: new process ready / switch back / all tracked', value: `${r.readyMs} / ${r.switchMs} / ${r.restoredMs} ms` },
      { what: 'after the restart: every count', value: countsLine(r.after) },
      { what: 'after the restart: all agree', value: r.agree ? 'yes' : 'NO' },
      { what: 'after the restart: vadc RSS', value: `${r.vadcRssMiB.toFixed(0)} MiB` },
    ] : []),
  ];
  process.stdout.write(`live connections through real OVS (userspace datapath), ${report.requested} requested\n`);
  process.stdout.write(`${formatTable(rows, [{ header: 'MEASURE', get: 'what' }, { header: 'VALUE', get: 'value' }])}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`live-connections bench failed: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
