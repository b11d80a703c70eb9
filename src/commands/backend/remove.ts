import { ApiCommand, backendTargetArgs } from '../../cli/api-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';

export default class BackendRemoveCommand extends ApiCommand<typeof BackendRemoveCommand> {
  static override summary = 'Remove a backend from a service at once (its connections are cut; drain first to avoid that).';
  static override examples = ['<%= config.bin %> backend drain web v-vm1 && <%= config.bin %> backend remove web v-vm1'];
  static override args = backendTargetArgs;
  static override flags = { ...clusterFlags };

  public async run(): Promise<{ service: string; removed: string } | { backend: string; scope: string }> {
    const { args, flags } = await this.parse(BackendRemoveCommand);
    if (flags.cluster) {
      await withStore(flags, (admin) => admin.apply({ kind: 'remove-backend', service: args.service, name: args.backend, scope: flags.scope }, flags.scope));
      this.log(`backend ${args.backend} of ${args.service} removed from the cluster store at ${flags.scope}`);
      return { backend: args.backend, scope: flags.scope };
    }
    await this.client.removeBackend(args.service, args.backend);
    this.log(`backend ${args.backend} removed from ${args.service}`);
    return { service: args.service, removed: args.backend };
  }
}
