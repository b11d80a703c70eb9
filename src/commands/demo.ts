import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command';
import { runDemo, type DemoResult } from '../demo/run-demo';

export default class DemoCommand extends BaseCommand<typeof DemoCommand> {
  static override summary = 'Run the main job end to end: a real OVS lab, vadc, real HTTP traffic through a VIP, the spread printed.';
  static override description = `Starts a private Open vSwitch lab (2 VMs with HTTP servers on ports 8080 and 8081, 2 clients), runs
vadc with its embedded lab configuration (VIP 10.0.0.100:80, round robin, HTTP health checks), sends requests from
the clients through the VIP and prints which VM and software port answered each. Tears everything down at the
end (or after Ctrl-C with --hold). Needs root (network namespaces, OVS).`;
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --nat flows', '<%= config.bin %> demo --requests 40 --json', '<%= config.bin %> demo --hold'];
  static override flags = {
    requests: Flags.integer({ description: 'HTTP requests to send through the VIP', default: 24, min: 1, max: 10000 }),
    hold: Flags.boolean({ description: 'keep the lab and vadc running after the traffic until Ctrl-C' }),
    nat: Flags.option({
      options: ['auto', 'flows', 'conntrack'] as const, default: 'auto' as const,
      description: "how vadc translates connections: per-connection flows, or OVS's connection tracker; auto picks conntrack beside ovs-vswitchd (the lab's)",
    })(),
    'wait-for-lab': Flags.integer({
      description: "seconds to wait for another lab on this host to go down first (Open vSwitch's userspace datapath allows one per host)",
      default: 120, min: 0, max: 3600,
    }),
  };

  public async run(): Promise<DemoResult> {
    const holdUntil = this.flags.hold
      ? new Promise<void>((resolve) => { process.once('SIGINT', () => resolve()); process.once('SIGTERM', () => resolve()); })
      : undefined;
    const print = (line: string) => { if (!this.jsonEnabled()) this.log(line); };
    const result = await runDemo({ requests: this.flags.requests, nat: this.flags.nat, logger: this.logger, holdUntil, print, waitForLabMs: this.flags['wait-for-lab'] * 1000 });
    if (result.failed > 0) this.error(`${result.failed} of ${result.requests} requests failed`, { exit: 1 });
    return result;
  }
}
