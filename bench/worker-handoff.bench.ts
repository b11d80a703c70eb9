// What handing packet-ins to a worker thread would cost (issue 15's "how the packet-in path would spread over N
// cores"): packet-in-sized messages (120 bytes, a TCP SYN's packet-in) posted to a worker_thread and a small answer
// posted back, one at a time and in batches, with up to 64 messages in flight. Prints the process's CPU per
// packet-in (both threads: process.cpuUsage() is the whole process) beside the budget of a whole connection at the
// 500k per CPU-second target (2,000 ns), and the wall time per packet-in. Not a test; prints figures.
//   node -r ts-node/register/transpile-only bench/worker-handoff.bench.ts [--packet-ins 200000] [--rounds 3]
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { formatTable } from '../src/cli/table';

const { values } = parseArgs({ options: { 'packet-ins': { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } } });
const TOTAL = Number(values['packet-ins']);
const ROUNDS = Number(values.rounds);
const BUDGET_NS = 1e9 / 500_000;
const IN_FLIGHT = 64;

// The worker answers each message with the number of packet-ins it carried (a decision would be about as small).
const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage(Array.isArray(m) ? m.length : 1));
`;

async function round(worker: Worker, batch: number): Promise<{ cpuNs: number; wallNs: number }> {
  const packetIn = Buffer.alloc(120, 0x5a);
  let answered = 0;
  let sent = 0;
  let inFlight = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (inFlight < IN_FLIGHT && sent < TOTAL) {
        worker.postMessage(batch === 1 ? packetIn : Array.from({ length: batch }, () => packetIn));
        inFlight++;
        sent += batch;
      }
    };
    const onAnswer = (n: number) => {
      answered += n;
      inFlight--;
      if (answered >= TOTAL) {
        worker.off('message', onAnswer);
        resolve();
      } else pump();
    };
    worker.on('message', onAnswer);
    pump();
  });
  const cpu = process.cpuUsage(c0);
  return { cpuNs: ((cpu.user + cpu.system) * 1000) / answered, wallNs: Number(process.hrtime.bigint() - t0) / answered };
}

async function main(): Promise<void> {
  const worker = new Worker(WORKER, { eval: true });
  const batches = [1, 16, 64];
  const results = new Map<number, Array<{ cpuNs: number; wallNs: number }>>(batches.map((b) => [b, []]));
  for (let r = 0; r < ROUNDS; r++) for (const b of batches) results.get(b)!.push(await round(worker, b));
  await worker.terminate();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = batches.map((b) => {
    const rs = results.get(b)!;
    const cpu = median(rs.map((x) => x.cpuNs));
    return {
      batch: String(b), cpu: cpu.toFixed(0), share: `${((100 * cpu) / BUDGET_NS).toFixed(0)} %`,
      wall: median(rs.map((x) => x.wallNs)).toFixed(0), runs: rs.map((x) => x.cpuNs.toFixed(0)).join(' / '),
    };
  });
  process.stdout.write(`worker handoff, ${TOTAL} packet-ins per run, ${ROUNDS} rounds, ${IN_FLIGHT} messages in flight, node ${process.version}, ` +
    `${new Date().toISOString()}\nceiling: a whole connection at 500k per CPU-second = ${BUDGET_NS} ns of CPU\n${formatTable(rows, [
    { header: 'PACKET-INS PER MESSAGE', get: 'batch' }, { header: 'CPU ns PER PACKET-IN (median)', get: 'cpu' },
    { header: 'OF THE 2,000 ns BUDGET', get: 'share' }, { header: 'WALL ns PER PACKET-IN', get: 'wall' }, { header: 'CPU ns, EACH RUN', get: 'runs' },
  ])}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`worker-handoff bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
