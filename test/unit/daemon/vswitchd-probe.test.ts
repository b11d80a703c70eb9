// `datapath.nat: auto` on a host with and without ovs-vswitchd: the probe against real unix sockets and files in a
// private directory, the choice it makes, and what status says of it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chooseNatMode } from '../../../src/app/nat/factory';
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { probeVswitchd, type ProbeSystem } from '../../../src/daemon/vswitchd-probe';

let dir: string;
const servers: net.Server[] = [];
/** Only this pid "runs" (a real pid of a real process would be this test's own; a stale one must be absent). */
const onlyPid = (alive: number): ProbeSystem => ({
  kill(pid) {
    if (pid !== alive) throw Object.assign(new Error('no such process'), { code: 'ESRCH' });
  },
});

async function listen(file: string): Promise<void> {
  const server = net.createServer((s) => s.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(file, resolve));
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-probe-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

describe('probeVswitchd', () => {
  it("finds ovs-appctl's default socket through OVS_RUNDIR and the pidfile, when that ovs-vswitchd runs", async () => {
    const socket = path.join(dir, 'ovs-vswitchd.4321.ctl');
    await listen(socket);
    writeFileSync(path.join(dir, 'ovs-vswitchd.pid'), '4321\n');
    expect(probeVswitchd(undefined, { OVS_RUNDIR: dir }, onlyPid(4321))).toEqual({ reachable: true, detail: `its unixctl socket ${socket} is reachable (pid 4321)` });
  });

  it('calls a socket left by an ovs-vswitchd that no longer runs unreachable', async () => {
    const socket = path.join(dir, 'ovs-vswitchd.4321.ctl');
    await listen(socket);
    writeFileSync(path.join(dir, 'ovs-vswitchd.pid'), '4321\n');
    expect(probeVswitchd(undefined, { OVS_RUNDIR: dir }, onlyPid(99))).toEqual({
      reachable: false, detail: `${socket} is left from ovs-vswitchd pid 4321, which no longer runs`,
    });
  });

  it('names what is missing: no pidfile, no socket, a file that is not a socket', () => {
    expect(probeVswitchd(undefined, { OVS_RUNDIR: dir }, onlyPid(1))).toEqual({
      reachable: false, detail: `cannot find ovs-vswitchd's control socket: ${path.join(dir, 'ovs-vswitchd.pid')}: ENOENT (set datapath.appctl)`,
    });
    const absent = path.join(dir, 'nothing.ctl');
    expect(probeVswitchd(absent, {}, onlyPid(1))).toEqual({ reachable: false, detail: `${absent}: ENOENT` });
    const plain = path.join(dir, 'plain.ctl');
    writeFileSync(plain, '');
    expect(probeVswitchd(plain, {}, onlyPid(1))).toEqual({ reachable: false, detail: `${plain} is not a socket` });
  });

  it('takes datapath.appctl as given; its owner is read from the pidfile beside it when the name carries no pid', async () => {
    const socket = path.join(dir, 'vswitchd.ctl');
    await listen(socket);
    expect(probeVswitchd(socket, {}, onlyPid(1))).toEqual({ reachable: true, detail: `its unixctl socket ${socket} is reachable` });
    writeFileSync(path.join(dir, 'ovs-vswitchd.pid'), '777');
    expect(probeVswitchd(socket, {}, onlyPid(1)).reachable).toBe(false);
    expect(probeVswitchd(socket, {}, onlyPid(777)).reachable).toBe(true);
  });
});

describe('chooseNatMode', () => {
  const found = () => ({ reachable: true, detail: 'its unixctl socket /run/x.ctl is reachable' });
  const absent = () => ({ reachable: false, detail: '/run/x.ctl: ENOENT' });

  it('auto: conntrack beside ovs-vswitchd, flows without it, and says why', () => {
    expect(chooseNatMode('auto', found)).toEqual({ nat: 'conntrack', reason: 'datapath.nat: auto, and ovs-vswitchd runs on this host: its unixctl socket /run/x.ctl is reachable' });
    expect(chooseNatMode('auto', absent)).toEqual({ nat: 'flows', reason: "datapath.nat: auto, and ovs-vswitchd's unixctl socket is not reachable: /run/x.ctl: ENOENT" });
  });

  it('an explicit mode wins and the probe is not asked', () => {
    const probe = jest.fn(found);
    expect(chooseNatMode('flows', probe)).toEqual({ nat: 'flows', reason: 'datapath.nat: flows in the configuration' });
    expect(chooseNatMode('conntrack', probe)).toEqual({ nat: 'conntrack', reason: 'datapath.nat: conntrack in the configuration' });
    expect(probe).not.toHaveBeenCalled();
  });

  it('auto on a cluster host: the cached policy\'s mode wins over the probe (not asked); the file\'s mode wins over both', () => {
    const probe = jest.fn(found);
    const cached = { nat: 'flows' as const, reason: 'datapath.nat: auto, and the cluster policy cached in /c.json sets flows for this host (group:blue)' };
    expect(chooseNatMode('auto', probe, cached)).toEqual(cached);
    expect(chooseNatMode('conntrack', probe, cached)).toEqual({ nat: 'conntrack', reason: 'datapath.nat: conntrack in the configuration' });
    expect(probe).not.toHaveBeenCalled();
  });

  it('is the default: a config without a datapath section runs auto', () => {
    expect(parseConfig('services: []', 'x.yaml').datapath.nat).toBe('auto');
  });
});

describe('the daemon with datapath.nat: auto', () => {
  it('runs conntrack beside a reachable ovs-vswitchd (its socket as datapath.appctl) and status says why', async () => {
    const socket = path.join(dir, 'ovs-vswitchd.1.ctl');
    await listen(socket);
    const config = parseConfig(`datapath: { appctl: ${socket}, ct_zone: 7 }\nservices: []`, 'x.yaml');
    const daemon = new VadcDaemon({ config, ovsdb: false });
    expect(daemon.status().datapath).toEqual({
      nat: 'conntrack', ctZone: 7, accounting: 'conntrack', reason: `datapath.nat: auto, and ovs-vswitchd runs on this host: its unixctl socket ${socket} is reachable (pid 1)`,
    });
    const without = new VadcDaemon({ config: parseConfig(`datapath: { appctl: ${path.join(dir, 'gone.ctl')} }\nservices: []`, 'x.yaml'), ovsdb: false });
    expect(without.status().datapath).toEqual({ nat: 'flows', reason: `datapath.nat: auto, and ovs-vswitchd's unixctl socket is not reachable: ${path.join(dir, 'gone.ctl')}: ENOENT` });
  });
});
