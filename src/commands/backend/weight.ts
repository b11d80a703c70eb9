import { Args } from '@oclif/core';
import { backendColumns } from '../../api/text-views';
import { ApiCommand, backendTargetArgs } from '../../cli/api-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';
import type { BackendStatus } from '../../runtime/types';

export default class BackendWeightCommand extends ApiCommand<typeof BackendWeightCommand> {
  static override summary = "Set a backend's scheduling weight (0 stops new connections, like ipvsadm -e -w 0).";
  static override examples = ['<%= config.bin %> backend weight web v-vm1 3', '<%= config.bin %> backend weight web v-vm2 0 --json'];
  static override args = {
    ...backendTargetArgs,
    weight: Args.integer({ required: true, min: 0, max: 65535, description: 'new weight, 0..65535' }),
  };
  static override flags = { ...clusterFlags };

  public async run(): Promise<BackendStatus | { backend: string; scope: string }> {
    const { args, flags } = await this.parse(BackendWeightCommand);
    if (flags.cluster) {
      await withStore(flags, (admin) => admin.apply({ kind: 'set-backend', service: args.service, name: args.backend, scope: flags.scope, weight: args.weight }, flags.scope));
      this.log(`backend ${args.backend} of ${args.service} weighted in the cluster store at ${flags.scope}`);
      return { backend: args.backend, scope: flags.scope };
    }
    const backend = await this.client.setWeight(args.service, args.backend, args.weight);
    this.table([backend], backendColumns);
    return backend;
  }
}
