import { Flags } from '@oclif/core';
import { formatFlow } from '../api/text-views';
import { ApiCommand } from '../cli/api-command';
import type { FlowStatus } from '../runtime/types';

export default class FlowsCommand extends ApiCommand<typeof FlowsCommand> {
  static override summary = "Show vadc's flows on each switch, decoded like `ovs-ofctl dump-flows`.";
  static override examples = ['<%= config.bin %> flows', '<%= config.bin %> flows --dpid 0000000000000001', '<%= config.bin %> flows --json'];
  static override flags = { dpid: Flags.string({ description: 'only this switch (16 hex digits)' }) };

  public async run(): Promise<FlowStatus[]> {
    const { flags } = await this.parse(FlowsCommand);
    const flows = await this.client.flows(flags.dpid);
    const bySwitch = new Map<string, FlowStatus[]>();
    for (const f of flows) bySwitch.set(f.dpid, [...(bySwitch.get(f.dpid) ?? []), f]);
    if (bySwitch.size === 0) this.log('no flows');
    for (const [dpid, list] of bySwitch) {
      this.log(`dpid ${dpid}: ${list.length} flow${list.length === 1 ? '' : 's'}`);
      for (const f of list) this.log(formatFlow(f));
    }
    return flows;
  }
}
