import { Flags } from '@oclif/core';
import { connectionColumns } from '../api/text-views';
import { ApiCommand } from '../cli/api-command';
import type { ConnectionStatus } from '../runtime/types';

export default class ConnsCommand extends ApiCommand<typeof ConnsCommand> {
  static override summary = 'List tracked connections, like `ipvsadm -Lnc`.';
  static override examples = [
    '<%= config.bin %> conns',
    '<%= config.bin %> conns --service web --backend v-vm1',
    '<%= config.bin %> conns --json | jq length',
  ];
  static override flags = {
    service: Flags.string({ description: 'only this service' }),
    backend: Flags.string({ description: 'only this backend' }),
  };

  public async run(): Promise<ConnectionStatus[]> {
    const { flags } = await this.parse(ConnsCommand);
    const conns = await this.client.connections({ service: flags.service, backend: flags.backend });
    this.log(`vadc connection entries: ${conns.length}`);
    if (conns.length > 0) this.table(conns, connectionColumns);
    return conns;
  }
}
