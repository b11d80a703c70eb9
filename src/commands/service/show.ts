import { Args } from '@oclif/core';
import { ApiCommand } from '../../cli/api-command';
import { backendColumns } from '../../api/text-views';
import type { ServiceStatus } from '../../runtime/types';

export default class ServiceShowCommand extends ApiCommand<typeof ServiceShowCommand> {
  static override summary = 'Show one service and its backends.';
  static override examples = ['<%= config.bin %> service show web', '<%= config.bin %> service show web --json | jq ".backends[].health"'];
  static override args = { name: Args.string({ required: true, description: 'service name' }) };

  public async run(): Promise<ServiceStatus> {
    const { args } = await this.parse(ServiceShowCommand);
    const svc = await this.client.service(args.name);
    this.log(`${svc.name}  ${svc.protocol.toUpperCase()} ${svc.vip}:${svc.port} (mac ${svc.vipMac})  scheduler ${svc.scheduler}  active tier ${svc.activeTier}`);
    this.log(`${svc.decisions} decisions, ${svc.refused} refused`);
    this.table(svc.backends, backendColumns);
    return svc;
  }
}
