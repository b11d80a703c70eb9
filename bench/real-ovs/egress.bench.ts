// Egress queues on real Open vSwitch (userspace datapath, veth ports): iperf3 TCP from each VM to a sink behind the
// egress port, with vadc's queues and meters (police: true), then with the queues alone (police: false), and from a
// VM without a queue, beside each configured max_rate. Root; not a test; prints figures (docs/benchmarks.md).
//   node -r ts-node/register/transpile-only bench/real-ovs/egress.bench.ts [--runs 5] [--seconds 5] [--json]
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab } from '../../src/lab';
import { waitFor } from '../../test/helpers/health-lab';
import { medianSpread, parseIperf3Json } from '../lib/realovs-stats';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    'wait-ms': { type: 'string', default: '600000' },
    json: { type: 'boolean', default: false },
  },
});

const RATES: Record<string, number | undefined> = { vm1: 50_000_000, vm2: 20_000_000, vm3: undefined };
const log = (line: string) => process.stderr.write(`${line}\n`);

function configText(lab: Lab, police: boolean): string {
  const backend = (vm: string) => {
    const h = lab.host(vm);
    const rate = RATES[vm];
    return `      - { vnic: ${h.port}, ip: ${h.ip}, ports: [8080]${rate ? `, queue: { max_rate: ${rate} }` : ''} }`;
  };
  return `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: flows }
ovsdb: unix:${lab.ovsdbSocket}
egress: { port: ${lab.host('cl1').port}, police: ${police} }
services:
  - name: web
    vip: ${lab.subnet.replace(/\.0\/\d+$/, '.100')}
    port: 80
    backends:
${['vm1', 'vm2', 'vm3'].map(backend).join('\n')}
`;
}

async function withDaemon<T>(lab: Lab, police: boolean, body: () => Promise<T>): Promise<T> {
  const text = configText(lab, police);
  const daemon = new VadcDaemon({ config: parseConfig(text, 'egress bench'), configText: text, statsIntervalMs: 1000 });
  const [target] = await daemon.start();
  try {
    await lab.setController(target);
    await waitFor(() => daemon.status().switches.length === 1, 15_000, 'the switch to connect');
    await waitFor(() => daemon.services()[0].backends.every((b) => b.ofport !== undefined), 15_000, 'the VMs located');
    // The rows and flows follow the switch's connection; give ovs-vswitchd a moment to build the qdisc.
    await new Promise((r) => setTimeout(r, 1500));
    return await body();
  } finally {
    await daemon.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  const lab = await Lab.up({ name: 'egb', vms: 3, clients: 1, waitForHostMs: Number(values['wait-ms']) });
  const rows: { mode: string; vm: string; maxRate?: number; mbps: number[] }[] = [];
  try {
    const server = lab.spawn('cl1', ['iperf3', '-s', '-p', '5201']);
    await new Promise((r) => setTimeout(r, 500));
    for (const police of [true, false]) {
      await withDaemon(lab, police, async () => {
        for (const vm of Object.keys(RATES)) {
          const row = { mode: police ? 'police: true' : 'police: false', vm, maxRate: RATES[vm], mbps: [] as number[] };
          for (let i = 0; i < (police ? runs : 1); i++) {
            const r = await lab.exec(vm, ['iperf3', '-c', lab.host('cl1').ip, '-p', '5201', '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
            row.mbps.push(parseIperf3Json(r.stdout).receivedBps / 1e6);
            log(`${row.mode} ${vm} run ${i + 1}: ${row.mbps[row.mbps.length - 1].toFixed(1)} Mbit/s`);
          }
          rows.push(row);
        }
      });
    }
    server.kill();
  } finally {
    await lab.down();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  process.stdout.write(`egress queues, iperf3 TCP ${seconds} s per run, userspace datapath (veth), ${new Date().toISOString().slice(0, 10)}\n`);
  for (const r of rows) {
    const { median, min, max } = medianSpread(r.mbps);
    const limit = r.maxRate ? `${r.maxRate / 1e6} Mbit/s` : 'none';
    const dev = r.maxRate ? ` (${((median * 1e6 / r.maxRate - 1) * 100).toFixed(1)} % from the limit; within 10 %: ${Math.abs(median * 1e6 / r.maxRate - 1) <= 0.1 ? 'yes' : 'no'})` : '';
    process.stdout.write(`  ${r.mode.padEnd(14)} ${r.vm}  max_rate ${limit.padEnd(12)} median ${median.toFixed(1)} Mbit/s, min ${min.toFixed(1)}, max ${max.toFixed(1)} over ${r.mbps.length} run(s)${dev}\n`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
