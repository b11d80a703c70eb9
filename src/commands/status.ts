import { formatVipEndpoints } from '../net/endpoint';
import { ApiCommand } from '../cli/api-command';
import type { StatusSnapshot } from '../runtime/types';
import { backendColumns, formatAge } from '../api/text-views';

export default class StatusCommand extends ApiCommand<typeof StatusCommand> {
  static override summary = 'Show switches, services and backends with health, weight, connections and queue measure.';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json | jq ".services[].backends[] | {id, health}"',
    '<%= config.bin %> status --api tcp:127.0.0.1:8181 --token "$VADC_TOKEN"',
  ];

  public async run(): Promise<StatusSnapshot> {
    const status = await this.client.status();
    const now = Date.now();
    const dp = status.datapath;
    const nat = dp.nat === 'conntrack' ? `NAT by conntrack (zone ${dp.ctZone}, ${dp.accounting === 'flows' ? 'flow' : 'tracker'} accounting)` : 'NAT by flows';
    this.log(`vadc ${status.version}, up ${formatAge(now - status.startedAt)}; OVSDB ${status.ovsdb.target} ${status.ovsdb.connected ? 'connected' : 'DISCONNECTED'}; ${nat}`);
    this.log(`  why: ${dp.reason}`);
    const r = dp.reading;
    if (r) this.log(`  tracker listing: ovs-vswitchd ${r.answerWaitMs.toFixed(1)} ms, vadc ${r.tookMs.toFixed(0)} ms, ${formatAge(now - r.at)} ago; next ${r.spacingMs > 0 ? `${(r.spacingMs / 1000).toFixed(1)} s after it (${r.spacedBy})` : 'every poll'}`);
    const ha = status.ha;
    if (ha) {
      const how = ha.election === 'cluster' ? `; elected through the ${ha.where ?? 'cluster store'}` : ha.where ? `; elected through files in ${ha.where}` : '';
      this.log(`HA: ${ha.role.toUpperCase()}, generation ${ha.generation}, ${ha.peer ? `peer ${ha.peer}${ha.masterApi ? ` (make changes there: ${ha.masterApi})` : ''}` : 'no peer seen'} (this instance ${ha.instance})${how}`);
    }
    this.log('');
    if (status.switches.length === 0) this.log('no switches connected');
    else {
      this.table(status.switches, [
        { header: 'DPID', get: 'dpid' },
        { header: 'ADDRESS', get: 'address' },
        { header: 'UP', get: (s) => formatAge(now - s.connectedAt) },
        { header: 'PORTS', get: 'ports' },
        { header: 'PACKET-INS', get: 'packetIns' },
        { header: 'FLOW-MODS', get: 'flowModsSent' },
        { header: 'ERRORS', get: 'errorsReceived' },
        ...(status.switches.some((s) => s.firstTable !== undefined)
          ? [{ header: 'ENTRY', get: (s: (typeof status.switches)[number]) => `table ${s.firstTable}: ${s.reachableFromTable0 === undefined ? 'not read yet' : s.reachableFromTable0 ? 'reached from table 0' : 'NOT REACHED from table 0'}` }]
          : []),
        ...(status.ha ? [{ header: 'ROLE', get: (s: (typeof status.switches)[number]) => `${s.role ?? '-'} ${s.generation ?? ''}`.trim() }] : []),
      ]);
    }
    for (const svc of status.services) {
      this.log('');
      this.log(`${svc.name}  ${svc.protocol.toUpperCase()} ${formatVipEndpoints(svc)}  ${svc.scheduler}  tier ${svc.activeTier}  ${svc.decisions} decisions${svc.decidedBy === 'datapath' ? ' (by the datapath)' : ''}, ${svc.refused} refused`);
      this.table(svc.backends, backendColumns);
    }
    if (status.services.length === 0) this.log('\nno services configured');
    return status;
  }
}
