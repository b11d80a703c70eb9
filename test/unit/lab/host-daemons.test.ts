// The vadc daemons `lab up --hosts N --cluster R` starts, one per simulated hypervisor: their configs are pure,
// so checked here through the real config parser; starting and stopping them is the lab-daemons e2e's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../src/config';
import { LabError } from '../../../src/lab/errors';
import { hostDaemonsStatus, planHostDaemons, type HostDaemonsInput } from '../../../src/lab/host-daemons';
import { hypervisorControllerTarget, planHypervisor, planLab } from '../../../src/lab/plan';

const lab = planLab('t1');
const input = (nat: 'conntrack' | 'flows', controller = 'tcp:127.0.0.1:6653'): HostDaemonsInput => ({
  dir: '/tmp/vadc-lab-t1', ovsdbSocket: '/tmp/vadc-lab-t1/db.sock', vswitchdControlSocket: '/tmp/vadc-lab-t1/ovs-vswitchd.ctl',
  remotes: 'unix:/s/s1.sock,unix:/s/s2.sock', nat,
  hypervisors: [1, 2].map((i) => ({ ...planHypervisor(lab, i), controller: hypervisorControllerTarget(controller, i) })),
});

describe('lab host daemons (lab up --cluster)', () => {
  it("gives each host a config the daemon accepts: its bridge's controller port, its own zone, its cluster host name and uplink", () => {
    const plans = planHostDaemons(input('conntrack'));
    expect(plans.map((p) => [p.host, p.listen, p.config, p.api])).toEqual([
      ['h1', 'tcp:127.0.0.1:6653', '/tmp/vadc-lab-t1/vadc-h1.yaml', '/tmp/vadc-lab-t1/vadc-h1.sock'],
      ['h2', 'tcp:127.0.0.1:6654', '/tmp/vadc-lab-t1/vadc-h2.yaml', '/tmp/vadc-lab-t1/vadc-h2.sock'],
    ]);
    const configs = plans.map((p) => parseConfig(p.configText, p.config));
    expect(configs.map((c) => [c.controller.listen, c.datapath.nat, c.datapath.ct_zone, c.cluster?.host, c.cluster?.uplink, c.api?.listen])).toEqual([
      ['tcp:127.0.0.1:6653', 'conntrack', 3001, 'h1', 't1-h1-up', 'unix:/tmp/vadc-lab-t1/vadc-h1.sock'],
      ['tcp:127.0.0.1:6654', 'conntrack', 3002, 'h2', 't1-h2-up', 'unix:/tmp/vadc-lab-t1/vadc-h2.sock'],
    ]);
    expect(configs.every((c) => c.cluster?.remotes === 'unix:/s/s1.sock,unix:/s/s2.sock' && c.services.length === 0 && c.ovsdb === 'unix:/tmp/vadc-lab-t1/db.sock')).toBe(true);
  });

  it('flows mode has no conntrack zone; a controller that is not tcp: is refused', () => {
    const [plan] = planHostDaemons(input('flows'));
    expect(parseConfig(plan.configText, plan.config).datapath.nat).toBe('flows');
    expect(plan.configText).not.toContain('ct_zone');
    expect(() => planHostDaemons(input('conntrack', 'unix:/tmp/c.sock'))).toThrow(LabError);
    expect(() => planHostDaemons(input('conntrack', 'unix:/tmp/c.sock'))).toThrow(/must be tcp:IP:PORT/);
  });

  it('finds the daemons by their pidfiles; one whose pid is gone (or not ours) is not running', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-hostd-'));
    try {
      expect(hostDaemonsStatus(dir)).toEqual([]);
      fs.writeFileSync(path.join(dir, 'vadc-h1.pid'), `${process.pid}\n`); // alive, but its command line does not name the dir
      expect(hostDaemonsStatus(dir)).toEqual([
        { host: 'h1', pid: process.pid, running: false, api: `unix:${dir}/vadc-h1.sock`, config: `${dir}/vadc-h1.yaml`, log: `${dir}/vadc-h1.log` },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
