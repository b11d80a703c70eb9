import { formatVipEndpoints } from '../../net/endpoint';
import { readFile } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { parse as parseYaml } from 'yaml';
import { parseBackendArg } from '../../api/backend-arg';
import { backendColumns } from '../../api/text-views';
import { ApiCommand } from '../../cli/api-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';
import { serviceSpecRows } from '../../cluster';
import type { BackendSpec, ServiceSpec, ServiceStatus } from '../../runtime/types';

export default class ServiceAddCommand extends ApiCommand<typeof ServiceAddCommand> {
  static override summary = 'Add a service (a VIP and its backends) to the running daemon, or with --cluster to the cluster store.';
  static override description =
    'Backends are given as VNIC=IP:PORT[,PORT...][/weight=N][/tier=N], or the whole service as a YAML/JSON file ' +
    'with the fields of one entry of the configuration\'s services list. The daemon persists the change. With --cluster the ' +
    'service is written to the cluster store at --scope (cluster, group:NAME, host:NAME); at a group or host scope it may ' +
    'also be an override of a broader service: only the name and the keys it changes (docs/cluster.md).';
  static override examples = [
    '<%= config.bin %> service add web --vip 10.0.0.100 --port 80 --backend v-vm1=10.0.0.11:8080 --backend v-vm2=10.0.0.12:8080/weight=2',
    '<%= config.bin %> service add dns --vip 10.0.0.53 --port 53 --protocol udp --scheduler sh --backend v-vm3=10.0.0.13:53',
    '<%= config.bin %> service add api --id 1569 --vip 10.0.0.101 --port 443 --backend v-vm1=10.0.0.11:8443',
    '<%= config.bin %> service add --file web-service.yaml',
    '<%= config.bin %> service add web --file web.yaml --cluster unix:/s/s1.sock,unix:/s/s2.sock,unix:/s/s3.sock',
    '<%= config.bin %> service add web --scheduler wrr --scope group:blue --cluster $VADC_CLUSTER',
  ];
  static override args = { name: Args.string({ description: 'service name (not needed with --file)' }) };
  static override flags = {
    vip: Flags.string({ description: 'virtual IP (IPv4 or IPv6), or a prefix (a.b.c.d/len, x:y::/len) for lblc, lblcr, dh' }),
    port: Flags.integer({ description: 'virtual port', min: 1, max: 65535 }),
    id: Flags.integer({ description: 'the service id to pin, 1..65535 (in its flows\' cookies; default from the name)', min: 1, max: 65535 }),
    protocol: Flags.option({ options: ['tcp', 'udp'] as const, description: 'transport protocol (default tcp)' })(),
    scheduler: Flags.string({ description: 'scheduler: rr, wrr, lc, wlc, sh, mh, feedback, ... (default: the daemon\'s)' }),
    persistence: Flags.integer({ description: 'client persistence in seconds', min: 0 }),
    'idle-timeout': Flags.integer({ description: 'connection idle timeout in seconds', min: 1 }),
    backend: Flags.custom<BackendSpec>({ parse: async (text) => parseBackendArg(text) })({
      description: 'a backend: VNIC=IP:PORT[,PORT...][/weight=N][/tier=N] (repeat the flag for more)', multiple: true, multipleNonGreedy: true,
    }),
    file: Flags.file({ exists: true, description: 'the service as YAML or JSON', exclusive: ['vip', 'port', 'backend', 'protocol', 'scheduler', 'id'] }),
    ...clusterFlags,
  };

  public async run(): Promise<ServiceStatus | { written: string; scope: string }> {
    const { args, flags } = await this.parse(ServiceAddCommand);
    if (flags.cluster) {
      const spec: Record<string, unknown> = flags.file ? (parseYaml(await readFile(flags.file, 'utf8')) as Record<string, unknown>) : {
        name: args.name, id: flags.id, vip: flags.vip, port: flags.port, protocol: flags.protocol, scheduler: flags.scheduler, persistence: flags.persistence,
        idle_timeout: flags['idle-timeout'], backends: flags.backend,
      };
      if (args.name) spec.name = args.name;
      for (const key of Object.keys(spec)) if (spec[key] === undefined) delete spec[key];
      const rows = serviceSpecRows(spec, flags.scope);
      await withStore(flags, (admin) => admin.apply({ kind: 'add-service', ...rows }, flags.scope));
      this.log(`service ${rows.service.name} written to the cluster store at ${flags.scope}`);
      return { written: rows.service.name, scope: flags.scope };
    }
    let spec: ServiceSpec;
    if (flags.file) {
      spec = parseYaml(await readFile(flags.file, 'utf8')) as ServiceSpec;
      if (args.name) spec = { ...spec, name: args.name };
    } else {
      if (!args.name) this.error('a service name is required (or --file)', { exit: 2 });
      if (!flags.vip || flags.port === undefined) this.error('--vip and --port are required (or --file)', { exit: 2 });
      spec = {
        name: args.name,
        id: flags.id,
        vip: flags.vip,
        port: flags.port,
        protocol: flags.protocol,
        scheduler: flags.scheduler,
        persistence: flags.persistence,
        idle_timeout: flags['idle-timeout'],
        backends: flags.backend ?? [],
      };
    }
    const svc = await this.client.addService(spec);
    this.log(`service ${svc.name} added: ${svc.protocol.toUpperCase()} ${formatVipEndpoints(svc)}, scheduler ${svc.scheduler}`);
    if (svc.backends.length > 0) this.table(svc.backends, backendColumns);
    return svc;
  }
}
