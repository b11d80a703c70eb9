import { backendColumns } from '../../api/text-views';
import { ApiCommand, backendTargetArgs } from '../../cli/api-command';
import type { BackendStatus } from '../../runtime/types';

export default class BackendDrainCommand extends ApiCommand<typeof BackendDrainCommand> {
  static override summary = 'Drain a backend: weight 0, no new connections; established ones finish (a backend_drained event follows).';
  static override examples = ['<%= config.bin %> backend drain web v-vm1', '<%= config.bin %> events --follow   # wait for backend_drained'];
  static override args = backendTargetArgs;

  public async run(): Promise<BackendStatus> {
    const { args } = await this.parse(BackendDrainCommand);
    const backend = await this.client.drain(args.service, args.backend);
    this.table([backend], backendColumns);
    return backend;
  }
}
