import { Args } from '@oclif/core';
import { ApiCommand } from '../../cli/api-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';

export default class ServiceRemoveCommand extends ApiCommand<typeof ServiceRemoveCommand> {
  static override summary = 'Remove a service: its VIP stops answering and its flows are deleted.';
  static override examples = ['<%= config.bin %> service remove web', '<%= config.bin %> service remove web --scope group:blue --cluster $VADC_CLUSTER'];
  static override flags = { ...clusterFlags };
  static override args = { name: Args.string({ required: true, description: 'service name' }) };

  public async run(): Promise<{ removed: string }> {
    const { args, flags } = await this.parse(ServiceRemoveCommand);
    if (flags.cluster) {
      await withStore(flags, (admin) => admin.apply({ kind: 'remove-service', name: args.name, scope: flags.scope }, flags.scope));
      this.log(`service ${args.name} removed from the cluster store at ${flags.scope}`);
      return { removed: args.name };
    }
    await this.client.removeService(args.name);
    this.log(`service ${args.name} removed`);
    return { removed: args.name };
  }
}
