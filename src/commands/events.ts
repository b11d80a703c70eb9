import { Flags } from '@oclif/core';
import { formatEvent } from '../api/text-views';
import { ApiCommand } from '../cli/api-command';
import type { VadcEvent } from '../runtime/types';

export default class EventsCommand extends ApiCommand<typeof EventsCommand> {
  static override summary = 'Show recent events (health changes, failovers, switches, config); --follow streams new ones.';
  static override description = 'With --follow and --json, each event is printed as one JSON object per line (NDJSON).';
  static override examples = [
    '<%= config.bin %> events --limit 50',
    '<%= config.bin %> events --follow',
    '<%= config.bin %> events --follow --json --count 1   # wait for the next event, then exit',
  ];
  static override flags = {
    limit: Flags.integer({ min: 1, default: 20, description: 'how many recent events to show first' }),
    follow: Flags.boolean({ char: 'f', description: 'keep streaming new events until interrupted' }),
    count: Flags.integer({ min: 1, dependsOn: ['follow'], description: 'with --follow: exit after this many new events' }),
  };

  public async run(): Promise<VadcEvent[] | undefined> {
    const { flags } = await this.parse(EventsCommand);
    if (!flags.follow) {
      const events = await this.client.events(flags.limit);
      if (events.length === 0) this.log('no events');
      for (const e of events) this.log(formatEvent(e));
      return events;
    }
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    const seen: VadcEvent[] = [];
    try {
      // The backlog is part of the stream, so nothing falls between "recent" and "live".
      const backlog = (await this.client.events(flags.limit)).length;
      for await (const e of this.client.followEvents({ backlog: backlog || undefined, signal: abort.signal })) {
        if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(e)}\n`);
        else this.log(formatEvent(e));
        seen.push(e);
        if (flags.count !== undefined && seen.length >= backlog + flags.count) break;
      }
    } finally {
      process.off('SIGINT', stop);
    }
    // Streamed already; returning nothing keeps --json from printing the events twice.
    return undefined;
  }
}
