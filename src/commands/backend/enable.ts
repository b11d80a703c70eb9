import { backendColumns } from '../../api/text-views';
import { ApiCommand, backendTargetArgs } from '../../cli/api-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';
import type { BackendStatus } from '../../runtime/types';

export default class BackendEnableCommand extends ApiCommand<typeof BackendEnableCommand> {
  static override summary = 'Put a drained or disabled backend back into service with its configured weight.';
  static override examples = ['<%= config.bin %> backend enable web v-vm1'];
  static override args = backendTargetArgs;
  static override flags = { ...clusterFlags };

  public async run(): Promise<BackendStatus | { backend: string; scope: string }> {
    const { args, flags } = await this.parse(BackendEnableCommand);
    if (flags.cluster) {
      await withStore(flags, (admin) => admin.apply({ kind: 'set-backend', service: args.service, name: args.backend, scope: flags.scope, drain: false }, flags.scope));
      this.log(`backend ${args.backend} of ${args.service} enabled in the cluster store at ${flags.scope}`);
      return { backend: args.backend, scope: flags.scope };
    }
    const backend = await this.client.enable(args.service, args.backend);
    this.table([backend], backendColumns);
    return backend;
  }
}
