import { setTimeout as sleep } from 'node:timers/promises';
import { Flags } from '@oclif/core';
import { backendStats, humanNumber, type BackendStatsRow } from '../api/stats';
import { ApiCommand } from '../cli/api-command';
import type { StatusSnapshot } from '../runtime/types';

export default class StatsCommand extends ApiCommand<typeof StatsCommand> {
  static override summary = 'Per-backend connections, packets and bytes; --watch refreshes with per-second rates.';
  static override description = 'With --watch and --json, each sample is printed as one JSON array per line (NDJSON).';
  static override examples = [
    '<%= config.bin %> stats',
    '<%= config.bin %> stats --watch --interval 2',
    '<%= config.bin %> stats --watch --count 5 --json > samples.ndjson',
  ];
  static override flags = {
    watch: Flags.boolean({ char: 'w', description: 'refresh until interrupted' }),
    interval: Flags.integer({ min: 1, default: 1, description: 'seconds between samples with --watch' }),
    count: Flags.integer({ min: 1, dependsOn: ['watch'], description: 'with --watch: stop after this many samples' }),
  };

  public async run(): Promise<BackendStatsRow[] | undefined> {
    const { flags } = await this.parse(StatsCommand);
    if (!flags.watch) {
      const rows = backendStats(await this.client.status());
      this.print(rows);
      return rows;
    }
    let stopped = false;
    const stop = () => {
      stopped = true;
    };
    process.once('SIGINT', stop);
    try {
      let previous: { at: number; status: StatusSnapshot } | undefined;
      for (let n = 0; !stopped && (flags.count === undefined || n < flags.count); n++) {
        if (n > 0) await sleep(flags.interval * 1000);
        const at = Date.now();
        const status = await this.client.status();
        const rows = backendStats(status, previous?.status, previous ? at - previous.at : undefined);
        previous = { at, status };
        if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else {
          if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
          this.log(`${new Date(at).toISOString()}  every ${flags.interval}s`);
          this.print(rows);
        }
      }
    } finally {
      process.off('SIGINT', stop);
    }
    return undefined;
  }

  private print(rows: BackendStatsRow[]): void {
    if (rows.length === 0) {
      this.log('no backends');
      return;
    }
    this.table(rows, [
      { header: 'SERVICE', get: 'service' },
      { header: 'BACKEND', get: 'backend' },
      { header: 'HEALTH', get: 'health' },
      { header: 'WEIGHT', get: 'weight' },
      { header: 'ACTIVE', get: 'active' },
      { header: 'INACTIVE', get: 'inactive' },
      { header: 'CONNS', get: (r) => humanNumber(r.total) },
      { header: 'PACKETS', get: (r) => humanNumber(r.packets) },
      { header: 'BYTES', get: (r) => humanNumber(r.bytes) },
      { header: 'CONNS/S', get: (r) => humanNumber(r.connsPerSec) },
      { header: 'PKTS/S', get: (r) => humanNumber(r.packetsPerSec) },
      { header: 'BYTES/S', get: (r) => humanNumber(r.bytesPerSec) },
      { header: 'QUEUE', get: (r) => r.queueMeasure?.toFixed(3) },
    ]);
  }
}
