// The I/O half of connection accounting: reads what the app's accounting strategy consumes (the switches'
// connection flow statistics, or OVS's connection tracker). One reader per source, chosen once by
// createAccountingReader from the source the NAT mode's accounting names.
import type { AccountingInput } from '../app';
import type { Controller } from '../controller';
import { buildFlowStatsRequest } from '../flows/builders';
import type { ConntrackDump } from '../flows/conntrack-dump';
import type { FlowStats } from '../openflow/types';
import type { VadcEvent } from '../runtime/types';
import type { Logger } from '../util/logger';
import { ConntrackReader } from './conntrack-reader';

export interface AccountingReader {
  /** One reading for a switch that just connected, to restore its connections. */
  forRestore(dpid: bigint): Promise<AccountingInput>;
  /** One reading covering every connected switch, for a statistics poll; undefined when unreadable now. */
  poll(dpids: readonly bigint[]): Promise<PolledAccounting | undefined>;
  close(): void;
}

/** A poll's reading, and what it cost its source where that is measured. */
export interface PolledAccounting {
  input: AccountingInput;
  /**
   * Request -> the answer's first byte (ms) where the source builds its whole answer before sending any of it
   * (ovs-vswitchd's tracker listing): what the reading cost that process. Absent when not measured.
   */
  answerWaitMs?: number;
}

export interface AccountingReaderDeps {
  controller: Controller;
  logger: Logger;
  emit: (event: Omit<VadcEvent, 'time'>) => void;
  /** Tracker accounting: vadc's zone and ovs-vswitchd's unixctl socket (undefined: ovs-appctl's default). */
  tracker?: { zone: number; appctl?: string };
}

export function createAccountingReader(source: AccountingInput['source'], deps: AccountingReaderDeps): AccountingReader {
  if (source === 'tracker') {
    if (!deps.tracker) throw new Error('tracker accounting needs the conntrack zone');
    return new TrackerReader(new ConntrackReader(deps.tracker), deps);
  }
  return new FlowStatsReader(deps.controller);
}

/** Connection flows by cookie, from every switch, merged into one reading (cookies are unique across switches). */
class FlowStatsReader implements AccountingReader {
  constructor(private readonly controller: Controller) {}

  async forRestore(dpid: bigint): Promise<AccountingInput> {
    return { source: 'flow_stats', entries: await this.read(dpid) };
  }

  /** The switch answers flow statistics in parts as it goes: no cost of its own is measured. */
  async poll(dpids: readonly bigint[]): Promise<PolledAccounting> {
    const all = await Promise.all(dpids.map((dpid) => this.read(dpid)));
    return { input: { source: 'flow_stats', entries: all.flat() } };
  }

  private async read(dpid: bigint): Promise<FlowStats[]> {
    const reply = await this.controller.request(dpid, buildFlowStatsRequest('connection'));
    return reply.body.mpType === 'flow' ? reply.body.entries : [];
  }

  close(): void {}
}

/** vadc's zone of the connection tracker over ovs-vswitchd's unixctl socket; an outage is reported once. */
class TrackerReader implements AccountingReader {
  private down = false;

  constructor(private readonly reader: ConntrackReader, private readonly deps: AccountingReaderDeps) {}

  async forRestore(): Promise<AccountingInput> {
    return { source: 'tracker', entries: (await this.read()).dump.entries };
  }

  async poll(dpids: readonly bigint[]): Promise<PolledAccounting | undefined> {
    if (dpids.length === 0) return undefined;
    try {
      const { dump, answerWaitMs } = await this.read();
      if (this.down) {
        this.down = false;
        this.deps.emit({ kind: 'conntrack_readable', level: 'info', message: `connection tracker readable again (${dump.entries.length} entries)` });
      }
      return { input: { source: 'tracker', entries: dump.entries }, answerWaitMs };
    } catch (err) {
      if (!this.down) {
        this.down = true;
        this.deps.emit({ kind: 'conntrack_unreadable', level: 'error', message: `${(err as Error).message}; connections are not aged until it answers` });
      }
      return undefined;
    }
  }

  private async read(): Promise<{ dump: ConntrackDump; answerWaitMs: number }> {
    const reading = await this.reader.readTimed();
    const { dump } = reading;
    if (dump.malformed.length) {
      const first = dump.malformed[0];
      this.deps.logger.warn(`connection tracker listing: ${dump.malformed.length} line(s) not understood, first (line ${first.line}, ${first.reason}): ${first.text}`);
    }
    return reading;
  }

  close(): void {
    this.reader.close();
  }
}
