// The lab against real Open vSwitch: what it creates, that traffic flows only through the bridge's
// flows, run-time changes, and that down() leaves nothing behind, also after its owner was SIGKILLed.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Lab, LabError } from '../../src/lab';
import { listNetns, pidsMentioning, run } from '../../src/lab/system';

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-e2e-lab-'));
const uniqueName = (first: string) => first + Math.random().toString(36).slice(2, 6).padEnd(4, '0');

/** What a lab leaves on the host: its namespaces, ports, bridge tap, processes and directory. */
async function traces(name: string, dir: string, ports: string[], bridge: string): Promise<string[]> {
  const left: string[] = [];
  for (const netns of await listNetns()) if (netns.startsWith(`vadc-${name}-`)) left.push(`netns ${netns}`);
  for (const dev of [...ports, bridge]) {
    if ((await run(['ip', 'link', 'show', 'dev', dev], { allowFailure: true })).code === 0) left.push(`link ${dev}`);
  }
  for (const pid of pidsMentioning(dir + '/')) left.push(`process ${pid}`);
  if (fs.existsSync(dir)) left.push(`dir ${dir}`);
  return left;
}

afterAll(() => fs.rmSync(baseDir, { recursive: true, force: true }));

describe('lab on real Open vSwitch', () => {
  const name = uniqueName('e');
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.up({ name, vms: 2, clients: 1, baseDir, waitForHostMs: 100_000 });
  }, 120_000);

  afterAll(() => Lab.down(name, { baseDir }));

  it('runs a private secure OpenFlow 1.3 netdev bridge with a fixed datapath id', async () => {
    expect(lab.dir.startsWith(baseDir)).toBe(true);
    expect(fs.existsSync(lab.ovsdbSocket)).toBe(true);
    const bridge = (column: string) => lab.vsctl('get', 'bridge', lab.bridge, column).then((v) => v.trim());
    expect(await bridge('datapath_type')).toBe('netdev');
    expect(await bridge('protocols')).toBe('[OpenFlow13]');
    expect(await bridge('fail_mode')).toBe('secure');
    expect(await bridge('other_config:datapath-id')).toBe(`"${lab.datapathId}"`);
    expect(await lab.ofctl('show')).toContain(`dpid:${lab.datapathId}`);
    const status = await Lab.status(name, { baseDir });
    expect(status.up).toBe(true);
    expect(status.daemons.map((d) => d.running)).toEqual([true, true]);
    expect(status.hosts.map((h) => [h.name, h.present])).toEqual([['vm1', true], ['vm2', true], ['cl1', true]]);
  });

  it('tags each interface like a hypervisor and gives hosts ofports, IPs and stable MACs', async () => {
    expect(lab.vms.map((h) => h.port)).toEqual([`${name}-vm1`, `${name}-vm2`]);
    for (const host of lab.hosts) {
      const ids = await lab.vsctl('get', 'interface', host.port, 'external_ids');
      expect(ids).toContain(`iface-id="${host.ifaceId}"`);
      expect(ids).toContain(`attached-mac="${host.mac}"`);
      expect(ids).toContain(`vm-uuid="${host.vmUuid}"`);
      expect(ids).toContain('iface-status=active');
      expect(Number(await lab.vsctl('get', 'interface', host.port, 'ofport'))).toBe(host.ofport);
      const inside = await lab.exec(host, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
      expect(inside.stdout).toContain(`inet ${host.ip}/24`);
      const link = await lab.exec(host, ['ip', '-o', 'link', 'show', 'dev', 'eth0']);
      expect(link.stdout).toContain(`link/ether ${host.mac}`);
      const offload = await lab.exec(host, ['ethtool', '-k', 'eth0']);
      expect(offload.stdout).toMatch(/tx-checksumming: off/);
      expect((await run(['ethtool', '-k', host.port])).stdout).toMatch(/tx-checksumming: off/);
    }
  });

  it('forwards nothing until a flow is installed (fail_mode=secure), then carries traffic through the bridge', async () => {
    const [vm1, vm2] = lab.vms;
    const web = await lab.startHttpServer(vm1, 8080);
    await expect(lab.httpGet('cl1', `http://${vm1.ip}:8080/`, 1500)).rejects.toThrow(LabError);

    await lab.addFlows('priority=0,actions=NORMAL');
    expect(await lab.httpGet('cl1', `http://${vm1.ip}:8080/`)).toEqual({ status: 200, body: 'vm1 8080\n' });
    const echo = await lab.startUdpEchoServer(vm2, 5353);
    expect(await lab.udpRequest('cl1', vm2.ip, 5353, 'hi')).toBe('vm2 5353 hi');
    expect(await lab.udpRequest(vm1, vm2.ip, 5353, 'from-vm1')).toBe('vm2 5353 from-vm1');
    // The packets crossed OVS: the NORMAL flow counted them.
    expect(await lab.ofctl('dump-flows')).toMatch(/n_packets=[1-9]\d*.*actions=NORMAL/);

    // The host reaches VMs through the bridge's LOCAL port address (as health checks will).
    expect(await lab.hostHttpGet(`http://${vm1.ip}:8080/`)).toEqual({ status: 200, body: 'vm1 8080\n' });
    await web.stop();
    await echo.stop();
    expect(web.process.exitCode ?? web.process.signalCode).not.toBeNull();
  });

  it('adds and removes a VM at run time', async () => {
    const vm3 = await lab.addVm();
    expect(vm3).toMatchObject({ name: 'vm3', port: `${name}-vm3`, ip: lab.localIp.replace(/1$/, '13') });
    expect(vm3.ofport).toBeGreaterThan(0);
    await lab.startHttpServer(vm3, 8080);
    expect(await lab.httpGet('cl1', `http://${vm3.ip}:8080/`)).toEqual({ status: 200, body: 'vm3 8080\n' });
    await expect(lab.addVm('vm3')).rejects.toThrow(/already has a host 'vm3'/);

    await lab.removeVm('vm3');
    expect(await listNetns()).not.toContain(vm3.netns);
    expect(await lab.vsctl('list-ports', lab.bridge)).not.toContain(vm3.port);
    expect(pidsMentioning(lab.dir + '/').length).toBe(2); // only ovsdb-server and ovs-vswitchd remain
    expect(() => lab.host('vm3')).toThrow(/has no host 'vm3'/);
  });

  it('takes a VM port link down and up', async () => {
    const linkState = () => lab.vsctl('get', 'interface', lab.vms[1].port, 'link_state').then((v) => v.trim());
    await lab.setLinkUp('vm2', false);
    await lab.vsctl('wait-until', 'interface', lab.vms[1].port, 'link_state=down');
    expect(await linkState()).toBe('down');
    await lab.setLinkUp('vm2', true);
    await lab.vsctl('wait-until', 'interface', lab.vms[1].port, 'link_state=up');
    expect(await linkState()).toBe('up');
  });

  it('restarts ovsdb-server and ovs-vswitchd and keeps working', async () => {
    const before = (await Lab.status(name, { baseDir })).daemons.map((d) => d.pid);
    await lab.restartOvsdb();
    await lab.restartVswitchd();
    const after = await Lab.status(name, { baseDir });
    expect(after.daemons.every((d) => d.running)).toBe(true);
    expect(after.daemons.map((d) => d.pid)).not.toEqual(before);
    // ovs-vswitchd forgets flows on restart (a controller puts them back); install NORMAL again.
    await lab.addFlows('priority=0,actions=NORMAL');
    await lab.startHttpServer('vm2', 8081);
    expect(await lab.httpGet('cl1', `http://${lab.vms[1].ip}:8081/`)).toEqual({ status: 200, body: 'vm2 8081\n' });
    expect(await lab.hostHttpGet(`http://${lab.vms[1].ip}:8081/`)).toEqual({ status: 200, body: 'vm2 8081\n' });
  });

  it('points the bridge at a controller and away again', async () => {
    // Port 9 (discard): nothing listens, so no teammate's controller gets this switch.
    await lab.setController('tcp:127.0.0.1:9');
    expect((await lab.vsctl('get-controller', lab.bridge)).trim()).toBe('tcp:127.0.0.1:9');
    expect((await Lab.status(name, { baseDir })).controller).toBe('tcp:127.0.0.1:9');
    await expect(lab.setController('127.0.0.1:9')).rejects.toMatchObject({ code: 'bad-option' });
    await lab.setController('');
    expect((await lab.vsctl('get-controller', lab.bridge)).trim()).toBe('');
    expect((await Lab.status(name, { baseDir })).controller).toBeNull();
  });

  it('refuses a second lab on the host with a clear error', async () => {
    await expect(Lab.up({ name: uniqueName('x'), baseDir })).rejects.toMatchObject({ code: 'host-busy' });
  });

  it('removes everything on down, and down twice is fine', async () => {
    const ports = lab.hosts.map((h) => h.port);
    await lab.startHttpServer('cl1', 9000);
    expect(await traces(name, lab.dir, ports, lab.bridge)).not.toEqual([]);
    await lab.down();
    expect(await traces(name, lab.dir, ports, lab.bridge)).toEqual([]);
    await Lab.down(name, { baseDir });
    expect((await Lab.status(name, { baseDir })).up).toBe(false);
  });
});

describe('lab down after its owner was killed', () => {
  it('cleans up a lab whose creating process got SIGKILL', async () => {
    const name = uniqueName('k');
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../helpers/lab-crash-child.ts'), name, baseDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const dir = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (line: string) => {
        const match = /^ready (\S+)/.exec(line);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`child exited ${String(code)}: ${stderr}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const status = await Lab.status(name, { baseDir });
    expect(status.up).toBe(true);
    const ports = status.hosts.map((h) => h.port);
    expect(pidsMentioning(dir + '/').length).toBe(3); // two daemons and the orphaned HTTP server
    await Lab.down(name, { baseDir });
    expect(await traces(name, dir, ports, status.bridge ?? '')).toEqual([]);
    await Lab.down(name, { baseDir });
  }, 1_000_000); // the child waits up to 900 s for another lab on this host (one userspace datapath per host)
});
