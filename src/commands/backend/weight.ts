import { Args } from '@oclif/core';
import { backendColumns } from '../../api/text-views';
import { ApiCommand, backendTargetArgs } from '../../cli/api-command';
import type { BackendStatus } from '../../runtime/types';

export default class BackendWeightCommand extends ApiCommand<typeof BackendWeightCommand> {
  static override summary = "Set a backend's scheduling weight (0 stops new connections, like ipvsadm -e -w 0).";
  static override examples = ['<%= config.bin %> backend weight web v-vm1 3', '<%= config.bin %> backend weight web v-vm2 0 --json'];
  static override args = {
    ...backendTargetArgs,
    weight: Args.integer({ required: true, min: 0, max: 65535, description: 'new weight, 0..65535' }),
  };

  public async run(): Promise<BackendStatus> {
    const { args } = await this.parse(BackendWeightCommand);
    const backend = await this.client.setWeight(args.service, args.backend, args.weight);
    this.table([backend], backendColumns);
    return backend;
  }
}
