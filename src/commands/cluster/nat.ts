import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command';
import { clusterFlags, withStore } from '../../cli/cluster-flags';

const MODES = ['flows', 'conntrack', 'unset'] as const;

export default class ClusterNat extends BaseCommand<typeof ClusterNat> {
  static override summary = 'Set the NAT mode of the cluster, a host group or a host in the cluster store (or unset it there).';
  static override description =
    'The narrowest scope that sets a mode wins. A host whose config file leaves datapath.nat to auto runs it from its next ' +
    'start (taken from its policy cache); a running host reports cluster_nat_pending until then. A file\'s datapath.nat: ' +
    'flows|conntrack wins over the store (docs/cluster.md, NAT mode).';
  static override examples = [
    '<%= config.bin %> cluster nat conntrack --scope group:blue --cluster $VADC_CLUSTER',
    '<%= config.bin %> cluster nat unset --scope host:h1 --cluster $VADC_CLUSTER',
  ];
  static override flags = { ...clusterFlags };
  static override args = { mode: Args.string({ required: true, options: [...MODES], description: 'flows, conntrack, or unset (the broader scopes decide)' }) };

  public async run(): Promise<{ scope: string; nat: string | null }> {
    const { args, flags } = await this.parse(ClusterNat);
    if (!flags.cluster) this.error('--cluster REMOTES (or VADC_CLUSTER) is required', { exit: 2 });
    const nat = args.mode === 'unset' ? undefined : (args.mode as 'flows' | 'conntrack');
    await withStore(flags, (admin) => admin.setNat(flags.scope, nat));
    this.log(nat ? `NAT mode ${nat} set at ${flags.scope} in the cluster store` : `NAT mode unset at ${flags.scope} in the cluster store`);
    return { scope: flags.scope, nat: nat ?? null };
  }
}
