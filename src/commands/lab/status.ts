import { BaseCommand } from '../../cli/base-command';
import { labLocatorFlags } from '../../cli/lab-flags';
import { Lab, LabHypervisorStatus, LabStatus } from '../../lab';

export default class LabStatusCommand extends BaseCommand<typeof LabStatusCommand> {
  static override summary = 'Show what a lab runs: daemons, bridge, namespaces.';
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --name t1 --json'];

  static override flags = { ...labLocatorFlags };

  public async run(): Promise<LabStatus> {
    const status = await Lab.status(this.flags.name, { baseDir: this.flags['base-dir'] });
    if (!status.bridge) {
      this.log(`lab '${status.name}' is not up (no state in ${status.dir})`);
      return status;
    }
    this.log(`lab '${status.name}': ${status.up ? 'up' : 'DEGRADED'}; bridge ${status.bridge} (dpid ${status.datapathId}), ` +
      `${status.subnet}, host at ${status.localIp}, controller ${status.controller ?? 'none'}`);
    if (status.hypervisors) {
      this.log(`${status.hypervisors.length} simulated hosts joined by underlay ${status.bridge}:`);
      this.table(status.hypervisors, [
        { header: 'HOST', get: 'name' }, { header: 'BRIDGE', get: 'bridge' }, { header: 'DPID', get: 'datapathId' },
        { header: 'CONTROLLER', get: (hv) => hv.controller ?? 'none' }, { header: 'UPLINK', get: 'uplinkPort' },
        { header: 'VMS', get: (hv) => hv.vms.join(',') }, { header: 'CLIENTS', get: (hv) => hv.clients.join(',') },
        // `lab up --cluster` started a vadc per host: its pid (or 'stopped') and API.
        ...(status.hypervisors.some((hv) => hv.vadc) ? [{ header: 'VADC', get: (hv: LabHypervisorStatus) => (hv.vadc ? `${hv.vadc.running ? hv.vadc.pid : 'stopped'} ${hv.vadc.api}` : '') }] : []),
      ]);
      this.log('');
    }
    this.table(status.daemons, [
      { header: 'DAEMON', get: 'name' }, { header: 'PID', get: 'pid' }, { header: 'RUNNING', get: 'running' },
    ]);
    this.log('');
    this.table(status.hosts, [
      { header: 'HOST', get: 'name' }, { header: 'ROLE', get: 'role' }, { header: 'NETNS', get: 'netns' },
      { header: 'PORT', get: 'port' }, { header: 'IP', get: 'ip' }, { header: 'MAC', get: 'mac' },
      { header: 'PRESENT', get: 'present' },
    ]);
    return status;
  }
}
