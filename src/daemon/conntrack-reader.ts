// The conntrack mode's edge to OVS's connection tracker: runs `ovs-appctl dpctl/dump-conntrack zone=Z`
// against ovs-vswitchd and hands the listing to the pure parser. The only I/O of tracker accounting.
import { execFile } from 'node:child_process';
import { parseConntrackDump, type ConntrackDump } from '../flows/conntrack-dump';

export class ConntrackReadError extends Error {
  override readonly name = 'ConntrackReadError';
}

export interface ConntrackReaderOptions {
  zone: number;
  /** ovs-vswitchd's unixctl socket (ovs-appctl -t); undefined = ovs-appctl's default target. */
  appctl?: string;
  timeoutMs?: number;
}

export class ConntrackReader {
  constructor(private readonly opts: ConntrackReaderOptions) {}

  /** The argv run, for messages and docs. */
  get argv(): string[] {
    return ['ovs-appctl', ...(this.opts.appctl ? ['-t', this.opts.appctl] : []), 'dpctl/dump-conntrack', `zone=${this.opts.zone}`];
  }

  read(): Promise<ConntrackDump> {
    const [cmd, ...args] = this.argv;
    return new Promise((resolve, reject) => {
      // A listing of 100,000 connections is ~25 MB of text.
      execFile(cmd, args, { timeout: this.opts.timeoutMs ?? 10_000, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) {
          const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ovs-appctl is not installed' : (stderr.trim() || err.message).split('\n')[0];
          reject(new ConntrackReadError(`cannot read the connection tracker (${this.argv.join(' ')}): ${why}`));
          return;
        }
        resolve(parseConntrackDump(stdout));
      });
    });
  }
}
