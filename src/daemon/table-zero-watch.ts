// datapath.first_table > 0 (a bridge shared with other controllers): vadc installs nothing below its first table,
// so the traffic it serves reaches it only if table 0's owner sends it there. This watch reads the switch's tables
// from 0 (flow stats, reads only: a standby may do it too) and reports whether any path leads to vadc's first table:
// an event when that changes, and each switch's answer in status.
import type { Controller } from '../controller';
import { formatDpid } from '../openflow/dpid';
import { pathFromTableZero, type TablePath } from '../flows/table-entry';
import { OFPG_ANY, OFPP_ANY } from '../openflow/constants';
import type { VadcEvent } from '../runtime/types';
import type { Logger } from '../util/logger';

export interface TableZeroWatchOptions {
  controller: Controller;
  firstTable: number;
  emit(event: Omit<VadcEvent, 'time'>): void;
  logger: Logger;
  /** How often every switch is read again (default 10 s). */
  intervalMs?: number;
}

export class TableZeroWatch {
  private readonly paths = new Map<bigint, TablePath>();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(private readonly opts: TableZeroWatchOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether table 0 leads to vadc's first table on this switch (undefined: not read yet). */
  reachable(dpid: bigint): boolean | undefined {
    return this.paths.get(dpid)?.reachable;
  }

  forget(dpid: bigint): void {
    this.paths.delete(dpid);
  }

  /** Reads every switch now (one poll at a time). */
  poll(): Promise<void> {
    this.polling ??= (async () => {
      try {
        for (const sw of this.opts.controller.switches()) await this.check(sw.dpid);
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private async check(dpid: bigint): Promise<void> {
    const first = this.opts.firstTable;
    let path: TablePath;
    try {
      path = await pathFromTableZero(first, async (table) => {
        const reply = await this.opts.controller.request(dpid, {
          type: 'multipart_request', xid: 0, flags: 0,
          body: { mpType: 'flow', tableId: table, outPort: OFPP_ANY, outGroup: OFPG_ANY, cookie: 0n, cookieMask: 0n, match: [] },
        });
        return reply.body.mpType === 'flow' ? reply.body.entries : [];
      });
    } catch (err) {
      this.opts.logger.debug(`table 0 check of ${formatDpid(dpid)}: ${(err as Error).message}`);
      return;
    }
    const before = this.paths.get(dpid);
    this.paths.set(dpid, path);
    if (before?.reachable === path.reachable) return;
    const sw = formatDpid(dpid);
    if (path.reachable) {
      this.opts.emit({
        kind: 'first_table_reachable', level: 'info', dpid: sw, data: { firstTable: first, path: path.path },
        message: `switch ${sw}: table 0 leads to vadc's first table ${first} (tables ${path.path!.join(' -> ')})`,
      });
    } else {
      this.opts.emit({
        kind: 'first_table_unreachable', level: 'warn', dpid: sw, data: { firstTable: first, looked: path.looked },
        message: `switch ${sw}: no flow of table 0 leads to vadc's first table ${first} (read tables ${path.looked.join(', ')}): the traffic vadc serves does not reach it. `
          + `Table 0's owner must send it there (goto_table:${first} or resubmit(,${first})), e.g. ovs-ofctl -O OpenFlow13 add-flow BR "table=0,priority=1,actions=goto_table:${first}"`,
      });
    }
  }
}
