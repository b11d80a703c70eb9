import { BaseCommand } from '../../cli/base-command';
import { clusterFlags } from '../../cli/cluster-flags';
import { clusterStatus, type ClusterStatusView } from '../../cluster';

export default class ClusterStatus extends BaseCommand<typeof ClusterStatus> {
  static override summary = "The cluster store's members (which leads, which has quorum) and every host's last report.";
  static override examples = [
    '<%= config.bin %> cluster status --cluster unix:/s/s1.sock,unix:/s/s2.sock,unix:/s/s3.sock',
    'VADC_CLUSTER=tcp:10.0.0.1:6641,tcp:10.0.0.2:6641,tcp:10.0.0.3:6641 <%= config.bin %> cluster status --json',
  ];
  static override flags = {
    cluster: clusterFlags.cluster,
    'ssl-key': clusterFlags['ssl-key'],
    'ssl-cert': clusterFlags['ssl-cert'],
    'ssl-ca': clusterFlags['ssl-ca'],
  };

  public async run(): Promise<ClusterStatusView> {
    const { flags } = this;
    if (!flags.cluster) this.error('--cluster REMOTES (or VADC_CLUSTER) is required', { exit: 2 });
    const tls = flags['ssl-key'] && flags['ssl-cert'] && flags['ssl-ca'] ? { privateKey: flags['ssl-key'], certificate: flags['ssl-cert'], caCert: flags['ssl-ca'] } : undefined;
    const view = await clusterStatus(flags.cluster, { tls });
    this.log(`store: ${view.writable ? 'writable' : 'READ-ONLY (no member with quorum answers; hosts serve their last policy)'}, leader ${view.leader ?? 'none'}`);
    this.table(view.members, [
      { header: 'MEMBER', get: 'remote' },
      { header: 'STATE', get: (m) => (!m.reachable ? 'down' : m.error ? m.error : m.connected ? 'in cluster' : 'no quorum') },
      { header: 'ROLE', get: (m) => (m.reachable && !m.error ? (m.leader ? 'leader' : 'follower') : '-') },
      { header: 'INDEX', get: (m) => m.index ?? '-' },
      { header: 'SERVER', get: (m) => m.serverId?.slice(0, 8) ?? '-' },
    ]);
    if (view.hosts?.length === 0) this.log('\nno host has reported yet');
    else if (view.hosts) {
      const now = Date.now();
      this.log('');
      this.table(view.hosts, [
        { header: 'HOST', get: 'host' },
        { header: 'GROUP', get: (h) => h.group ?? '-' },
        { header: 'NAT', get: 'nat' },
        { header: 'SERVICES', get: 'services' },
        { header: 'POLICY', get: (h) => h.policy.slice(0, 12) },
        { header: 'BACKENDS', get: (h) => h.backends.map((b) => `${b.service}/${b.backend}:${b.health}`).join(' ') || '-' },
        { header: 'REPORTED', get: (h) => `${Math.max(0, Math.round((now - h.reported) / 1000))} s ago` },
        { header: 'PROBLEMS', get: (h) => h.problems.length },
      ]);
    } else this.log(`hosts: not readable (${view.hostsError})`);
    return view;
  }
}
