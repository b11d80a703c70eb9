import { backendColumns } from '../../api/text-views';
import { ApiCommand, backendTargetArgs } from '../../cli/api-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';
import type { BackendStatus } from '../../runtime/types';

export default class BackendDrainCommand extends ApiCommand<typeof BackendDrainCommand> {
  static override summary = 'Drain a backend: weight 0, no new connections; established ones finish (a backend_drained event follows).';
  static override examples = ['<%= config.bin %> backend drain web v-vm1', '<%= config.bin %> events --follow   # wait for backend_drained'];
  static override args = backendTargetArgs;
  static override flags = { ...clusterFlags };

  public async run(): Promise<BackendStatus | { backend: string; scope: string }> {
    const { args, flags } = await this.parse(BackendDrainCommand);
    if (flags.cluster) {
      await withStore(flags, (admin) => admin.apply({ kind: 'set-backend', service: args.service, name: args.backend, scope: flags.scope, drain: true }, flags.scope));
      this.log(`backend ${args.backend} of ${args.service} drained in the cluster store at ${flags.scope}`);
      return { backend: args.backend, scope: flags.scope };
    }
    const backend = await this.client.drain(args.service, args.backend);
    this.table([backend], backendColumns);
    return backend;
  }
}
