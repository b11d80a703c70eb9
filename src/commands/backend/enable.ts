import { backendColumns } from '../../api/text-views';
import { ApiCommand, backendTargetArgs } from '../../cli/api-command';
import type { BackendStatus } from '../../runtime/types';

export default class BackendEnableCommand extends ApiCommand<typeof BackendEnableCommand> {
  static override summary = 'Put a drained or disabled backend back into service with its configured weight.';
  static override examples = ['<%= config.bin %> backend enable web v-vm1'];
  static override args = backendTargetArgs;

  public async run(): Promise<BackendStatus> {
    const { args } = await this.parse(BackendEnableCommand);
    const backend = await this.client.enable(args.service, args.backend);
    this.table([backend], backendColumns);
    return backend;
  }
}
