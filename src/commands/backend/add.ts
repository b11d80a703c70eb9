import { Args, Flags } from '@oclif/core';
import { backendColumns } from '../../api/text-views';
import { ApiCommand } from '../../cli/api-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';
import { backendSpecRow } from '../../cluster';
import type { BackendStatus } from '../../runtime/types';

export default class BackendAddCommand extends ApiCommand<typeof BackendAddCommand> {
  static override summary = 'Add a backend (a vNIC and its software ports) to a service.';
  static override description = 'VNIC is how vadc finds the backend in OVSDB: iface-id:ID (survives a VM restart), mac:MAC, vm-uuid:UUID (OpenStack), vm-id:UUID (libvirt) or an interface name.';
  static override examples = [
    '<%= config.bin %> backend add web v-vm3 --ip 10.0.0.13 --port 8080',
    '<%= config.bin %> backend add web iface-id:vm4-eth0 --ip 10.0.0.14 --port 8080 --port 8081 --weight 3 --tier 1',
  ];
  static override args = {
    service: Args.string({ required: true, description: 'service name' }),
    vnic: Args.string({ required: true, description: 'the vNIC: iface-id:ID, mac:MAC, vm-uuid:UUID, vm-id:UUID or NAME' }),
  };
  static override flags = {
    ip: Flags.string({ required: true, description: "the backend's IPv4 address" }),
    port: Flags.integer({ required: true, multiple: true, multipleNonGreedy: true, min: 1, max: 65535, description: 'software port (repeat the flag for more: --port 8080 --port 8081)' }),
    weight: Flags.integer({ min: 0, max: 65535, description: 'scheduling weight (default 1)' }),
    tier: Flags.integer({ min: 0, max: 15, description: 'failover tier: 0 is primary (default 0)' }),
    ...clusterFlags,
  };

  public async run(): Promise<BackendStatus | { written: string; scope: string }> {
    const { args, flags } = await this.parse(BackendAddCommand);
    if (flags.cluster) {
      const spec = { vnic: args.vnic, ip: flags.ip, ports: flags.port, ...(flags.weight !== undefined ? { weight: flags.weight } : {}), ...(flags.tier !== undefined ? { tier: flags.tier } : {}) };
      const backend = backendSpecRow(spec, args.service, flags.scope);
      await withStore(flags, (admin) => admin.apply({ kind: 'add-backend', backend }, flags.scope));
      this.log(`backend ${backend.name} of ${args.service} written to the cluster store at ${flags.scope}`);
      return { written: backend.name, scope: flags.scope };
    }
    const backend = await this.client.addBackend(args.service, { vnic: args.vnic, ip: flags.ip, ports: flags.port, weight: flags.weight, tier: flags.tier });
    this.log(`backend ${backend.id} added to ${args.service}`);
    this.table([backend], backendColumns);
    return backend;
  }
}
