import { Args } from '@oclif/core';
import { ApiCommand } from '../../cli/api-command';

export default class ServiceRemoveCommand extends ApiCommand<typeof ServiceRemoveCommand> {
  static override summary = 'Remove a service: its VIP stops answering and its flows are deleted.';
  static override examples = ['<%= config.bin %> service remove web'];
  static override args = { name: Args.string({ required: true, description: 'service name' }) };

  public async run(): Promise<{ removed: string }> {
    const { args } = await this.parse(ServiceRemoveCommand);
    await this.client.removeService(args.name);
    this.log(`service ${args.name} removed`);
    return { removed: args.name };
  }
}
