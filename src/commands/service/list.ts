import { formatVipEndpoints } from '../../net/endpoint';
import { ApiCommand } from '../../cli/api-command';
import type { ServiceStatus } from '../../runtime/types';

export default class ServiceListCommand extends ApiCommand<typeof ServiceListCommand> {
  static override summary = 'List services: VIP, scheduler, and how many backends are up.';
  static override examples = ['<%= config.bin %> service list', '<%= config.bin %> service list --json'];

  public async run(): Promise<ServiceStatus[]> {
    const services = await this.client.services();
    if (services.length === 0) {
      this.log('no services configured');
      return services;
    }
    this.table(services, [
      { header: 'NAME', get: 'name' },
      { header: 'PROTO', get: (s) => s.protocol.toUpperCase() },
      { header: 'VIRTUAL', get: (s) => formatVipEndpoints(s) },
      { header: 'SCHEDULER', get: 'scheduler' },
      { header: 'TIER', get: 'activeTier' },
      { header: 'UP', get: (s) => `${s.backends.filter((b) => b.health === 'up').length}/${s.backends.length}` },
      { header: 'ACTIVE', get: (s) => s.backends.reduce((n, b) => n + b.activeConns, 0) },
      { header: 'DECISIONS', get: 'decisions' },
      { header: 'REFUSED', get: 'refused' },
    ]);
    return services;
  }
}
