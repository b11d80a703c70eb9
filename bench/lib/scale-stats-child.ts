// Child process of the stats-polling benchmark: vadc's daemon (no OVSDB) polling flow and port statistics
// at a fixed interval; answers CPU-time requests so the parent can compute the daemon's CPU share.
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';

type ToChild = { kind: 'start'; config: string; intervalMs: number } | { kind: 'cpu' };

let daemon: VadcDaemon | undefined;

async function start(msg: Extract<ToChild, { kind: 'start' }>): Promise<void> {
  daemon = new VadcDaemon({ config: parseConfig(msg.config, 'stats bench'), ovsdb: false, statsIntervalMs: msg.intervalMs, listen: ['tcp:127.0.0.1:0'] });
  const [target] = await daemon.start();
  process.send?.({ kind: 'listening', port: Number(target.slice(target.lastIndexOf(':') + 1)) });
}

process.on('message', (msg: ToChild) => {
  if (msg.kind === 'start') {
    start(msg).catch((err: Error) => process.send?.({ kind: 'failed', message: err.message }));
  } else if (msg.kind === 'cpu') {
    const usage = process.cpuUsage();
    process.send?.({ kind: 'cpu', us: usage.user + usage.system });
  }
});
const stop = () => void (daemon?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
