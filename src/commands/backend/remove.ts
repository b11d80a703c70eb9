import { ApiCommand, backendTargetArgs } from '../../cli/api-command';

export default class BackendRemoveCommand extends ApiCommand<typeof BackendRemoveCommand> {
  static override summary = 'Remove a backend from a service at once (its connections are cut; drain first to avoid that).';
  static override examples = ['<%= config.bin %> backend drain web v-vm1 && <%= config.bin %> backend remove web v-vm1'];
  static override args = backendTargetArgs;

  public async run(): Promise<{ service: string; removed: string }> {
    const { args } = await this.parse(BackendRemoveCommand);
    await this.client.removeBackend(args.service, args.backend);
    this.log(`backend ${args.backend} removed from ${args.service}`);
    return { service: args.service, removed: args.backend };
  }
}
