import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command';
import { storeSchemaPath } from '../../cli/cluster-flags';
import { ClusterAdmin, STORE_DB } from '../../cluster';
import { storeClusterUp } from '../../lab';

export default class ClusterUp extends BaseCommand<typeof ClusterUp> {
  static override summary = "Start a local Raft cluster of ovsdb-server serving vadc's cluster store, and print its remotes.";
  static override description =
    'For labs and single-room deployments: ovsdb-tool create-cluster / join-cluster, one ovsdb-server per member, every ' +
    'file in DIR. Production operators run ovsdb-server their own way with schema/vadc.ovsschema (docs/cluster.md) and ' +
    "point vadc at it. Hosts join with the config key cluster: { remotes: ..., host: NAME }.";
  static override examples = [
    '<%= config.bin %> cluster up --members 3 --dir /var/lib/vadc/store',
    '<%= config.bin %> cluster up --members 3 --dir ./store --tcp 192.0.2.10:6641 --json',
  ];
  static override flags = {
    members: Flags.integer({ default: 3, min: 1, max: 7, description: 'number of ovsdb-server members (3 tolerates one failure, 5 two)' }),
    dir: Flags.string({ required: true, description: 'directory for the members\' databases, sockets, logs and pidfiles' }),
    tcp: Flags.string({ description: 'listen on tcp ADDRESS:PORT (members on PORT, PORT+1, ...; Raft on PORT+100, ...) instead of unix sockets in DIR' }),
    name: Flags.string({ default: 'vadc', description: 'the cluster\'s name (its Cluster row)' }),
    nat: Flags.option({ options: ['flows', 'conntrack'] as const, description: 'cluster-wide NAT mode (hosts and groups may override it)' })(),
    'election-timer': Flags.integer({ min: 100, max: 600_000, description: 'Raft election timer in ms (default 1000)' }),
  };

  public async run(): Promise<{ dir: string; remotes: string; members: Array<{ n: number; remote: string; raft: string }> }> {
    const { flags } = this;
    let tcp: { address: string; port: number } | undefined;
    if (flags.tcp) {
      const m = /^([^:]+):(\d{1,5})$/.exec(flags.tcp);
      if (!m || Number(m[2]) < 1 || Number(m[2]) + 100 + flags.members > 65535) this.error(`--tcp expects ADDRESS:PORT, got ${flags.tcp}`, { exit: 2 });
      tcp = { address: m[1], port: Number(m[2]) };
    }
    const plan = await storeClusterUp({
      dir: flags.dir, members: flags.members, schema: storeSchemaPath(), db: STORE_DB, tcp, electionTimerMs: flags['election-timer'],
    });
    const remotes = plan.members.map((m) => m.remote).join(',');
    const admin = await ClusterAdmin.open(remotes);
    try {
      await admin.setCluster(flags.name, flags.nat);
    } finally {
      admin.close();
    }
    this.log(`cluster store up: ${plan.members.length} members in ${flags.dir}`);
    this.log(`remotes: ${remotes}`);
    return { dir: flags.dir, remotes, members: plan.members.map(({ n, remote, raft }) => ({ n, remote, raft })) };
  }
}
