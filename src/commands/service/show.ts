import { formatEndpoint, formatVipEndpoints } from '../../net/endpoint';
import { Args } from '@oclif/core';
import { ApiCommand } from '../../cli/api-command';
import { clusterFlags, scopeFilterFlag, withStore } from '../../cli/cluster-flags';
import { backendColumns, formatPayloadRules } from '../../api/text-views';
import type { BackendRow, ServiceRow } from '../../cluster';
import type { ServiceStatus } from '../../runtime/types';

export default class ServiceShowCommand extends ApiCommand<typeof ServiceShowCommand> {
  static override summary = 'Show one service and its backends (with --cluster: its rows in the cluster store, scope by scope).';
  static override examples = [
    '<%= config.bin %> service show web',
    '<%= config.bin %> service show web --json | jq ".backends[].health"',
    '<%= config.bin %> service show web --cluster $VADC_CLUSTER',
    '<%= config.bin %> service show web --scope group:blue --cluster $VADC_CLUSTER',
  ];
  static override args = { name: Args.string({ required: true, description: 'service name' }) };
  static override flags = { cluster: clusterFlags.cluster, scope: scopeFilterFlag, 'ssl-key': clusterFlags['ssl-key'], 'ssl-cert': clusterFlags['ssl-cert'], 'ssl-ca': clusterFlags['ssl-ca'] };

  public async run(): Promise<ServiceStatus | { services: ServiceRow[]; backends: BackendRow[] }> {
    const { args, flags } = await this.parse(ServiceShowCommand);
    if (flags.cluster) {
      const snapshot = await withStore({ ...flags, scope: 'cluster' }, (admin) => admin.snapshot());
      const atScope = (scope: string) => flags.scope === undefined || scope === flags.scope;
      const services = snapshot.services.filter((s) => s.name === args.name && atScope(s.scope));
      const backends = snapshot.backends.filter((b) => b.service === args.name && atScope(b.scope));
      if (!services.length && !backends.length) this.error(`no service ${args.name} in the cluster store${flags.scope ? ` at ${flags.scope}` : ''}`, { exit: 1 });
      const opts = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' ');
      this.table(services, [
        { header: 'SCOPE', get: 'scope' }, { header: 'VIP', get: (s) => (s.vip ? `${formatEndpoint(s.vip, s.port ?? '?')}/${s.protocol ?? 'tcp'}` : '(override)') },
        { header: 'SCHEDULER', get: (s) => s.scheduler ?? '-' }, { header: 'OPTIONS', get: (s) => opts(s.options) || '-' },
      ]);
      this.log('');
      this.table(backends, [
        { header: 'BACKEND', get: 'name' }, { header: 'SCOPE', get: 'scope' }, { header: 'VNIC', get: (b) => b.vnic ?? '-' },
        { header: 'IP', get: (b) => b.ip ?? '-' }, { header: 'PORTS', get: (b) => b.ports.join(',') || '-' },
        { header: 'WEIGHT', get: (b) => b.weight ?? '-' }, { header: 'TIER', get: (b) => b.tier ?? '-' },
        { header: 'DRAIN', get: (b) => (b.drain === undefined ? '-' : String(b.drain)) }, { header: 'OPTIONS', get: (b) => opts(b.options) || '-' },
      ]);
      return { services, backends };
    }
    const svc = await this.client.service(args.name);
    this.log(`${svc.name}  ${svc.protocol.toUpperCase()} ${formatVipEndpoints(svc)} (mac ${svc.vipMac})  scheduler ${svc.scheduler}  active tier ${svc.activeTier}`);
    this.log(`${svc.decisions} decisions, ${svc.refused} refused`);
    if (svc.payloadRules) this.log(formatPayloadRules(svc.payloadRules));
    this.table(svc.backends, backendColumns);
    return svc;
  }
}
