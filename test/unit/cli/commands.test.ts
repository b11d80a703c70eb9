jest.mock('../../../node_modules/@oclif/core/lib/util/os', () => ({
  ...jest.requireActual('../../../node_modules/@oclif/core/lib/util/os'),
  getPlatform: async () => 'linux',
}));
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiServer } from '../../../src/api';
import BackendAdd from '../../../src/commands/backend/add';
import BackendDrain from '../../../src/commands/backend/drain';
import BackendEnable from '../../../src/commands/backend/enable';
import BackendRemove from '../../../src/commands/backend/remove';
import BackendWeight from '../../../src/commands/backend/weight';
import ConfigApply from '../../../src/commands/config/apply';
import ConfigShow from '../../../src/commands/config/show';
import ConfigValidate from '../../../src/commands/config/validate';
import Conns from '../../../src/commands/conns';
import Events from '../../../src/commands/events';
import Flows from '../../../src/commands/flows';
import ServiceAdd from '../../../src/commands/service/add';
import ServiceList from '../../../src/commands/service/list';
import ServiceRemove from '../../../src/commands/service/remove';
import ServiceShow from '../../../src/commands/service/show';
import Stats from '../../../src/commands/stats';
import Status from '../../../src/commands/status';
import { type FakeRuntime, sampleRuntime } from '../api/fake-runtime';
import { loadConfig, runCommand } from './run-command';

// The first command pays oclif's cold load (2+ s alone); on the loaded 2-core machine of a full run it passed 5 s,
// and the timed-out command's output then leaked into the next test.
jest.setTimeout(30_000);

const TOKEN = 'cli-test-token-0123456789abcdef';

describe('vadc CLI commands against the API served from a fake runtime', () => {
  let dir: string;
  let rt: FakeRuntime;
  let server: ApiServer;
  let api: string[];
  let tcpApi: string;

  // oclif's Config loads every command once; on a busy 2-core machine that alone can pass jest's 5 s default.
  beforeAll(() => loadConfig(), 60_000);
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-cli-'));
    rt = await sampleRuntime();
    server = await ApiServer.start({ runtime: rt, listen: [{ endpoint: `unix:${dir}/api.sock` }, { endpoint: 'tcp:127.0.0.1:0', token: TOKEN }] });
    api = ['--api', `unix:${dir}/api.sock`];
    tcpApi = server.endpoints[1];
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status prints switches and backends as tables, and the snapshot with --json', async () => {
    const text = await runCommand(Status, api);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^0000000000000001\s+127\.0\.0\.1:40001\s+\S+\s+5\s+42\s+17\s+1$/m);
    expect(text.stdout).toMatch(/^v-vm1\s+10\.0\.0\.11:8080\s+up\s+2\s+0\s+3\s+1\s+10\s+0\.250\s+1$/m);
    const json = await runCommand(Status, [...api, '--json']);
    expect(JSON.parse(json.stdout).services[0].backends[1].id).toBe('v-vm2');
  });

  it('service list/show/add/remove', async () => {
    expect((await runCommand(ServiceList, api)).stdout).toMatch(/^web\s+TCP\s+10\.0\.0\.100:80\s+wlc\s+0\s+2\/2\s+4\s+15\s+2$/m);
    const added = await runCommand(ServiceAdd, [...api, 'dns', '--vip', '10.0.0.53', '--port', '53', '--protocol', 'udp', '--backend', 'v-vm3=10.0.0.13:53,5353/weight=4/tier=1']);
    expect(added.exitCode).toBe(0);
    expect(added.stdout).toContain('service dns added: UDP 10.0.0.53:53');
    const shown = await runCommand(ServiceShow, [...api, 'dns', '--json']);
    expect(JSON.parse(shown.stdout).backends[0]).toMatchObject({ id: 'v-vm3', ports: [53, 5353], weight: 4, tier: 1 });
    const file = path.join(dir, 'svc.yaml');
    writeFileSync(file, 'name: ntp\nvip: 10.0.0.123\nprotocol: udp\nport: 123\nbackends:\n  - { vnic: v-vm1, ip: 10.0.0.11, ports: [123] }\n');
    expect((await runCommand(ServiceAdd, [...api, '--file', file])).stdout).toContain('service ntp added');
    expect((await runCommand(ServiceRemove, [...api, 'ntp'])).stdout).toContain('service ntp removed');
    expect((await runCommand(ServiceRemove, [...api, 'dns', '--json'])).stdout).toContain('"removed": "dns"');
    expect(rt.services().map((s) => s.name)).toEqual(['web']);
  });

  it('service add --id pins the service id (sent in the spec); an id out of 1..65535, not a number, or with --file: usage errors, exit 2', async () => {
    const addService = jest.spyOn(rt, 'addService');
    try {
      const added = await runCommand(ServiceAdd, [...api, 'api', '--id', '1569', '--vip', '10.0.0.101', '--port', '443', '--backend', 'v-vm1=10.0.0.11:8443']);
      expect(added.exitCode).toBe(0);
      expect(addService).toHaveBeenCalledTimes(1);
      expect(addService.mock.calls[0][0]).toMatchObject({ name: 'api', id: 1569, vip: '10.0.0.101', port: 443 });
      const plain = await runCommand(ServiceAdd, [...api, 'api2', '--vip', '10.0.0.102', '--port', '443']);
      expect(plain.exitCode).toBe(0);
      expect(addService.mock.calls[1][0]).not.toHaveProperty('id');
      for (const bad of ['0', '65536', 'x']) {
        const res = await runCommand(ServiceAdd, [...api, 'bad', '--id', bad, '--vip', '10.0.0.103', '--port', '80']);
        expect([bad, res.exitCode]).toEqual([bad, 2]);
        expect(res.stderr).toMatch(new RegExp(`^Error: Parsing --id: Expected an integer.* but received: ${bad}: See more help with --help$`, 'm'));
      }
      const file = path.join(dir, 'pinned.yaml');
      writeFileSync(file, 'name: ntp\nid: 7\nvip: 10.0.0.123\nprotocol: udp\nport: 123\nbackends: []\n');
      const both = await runCommand(ServiceAdd, [...api, '--file', file, '--id', '8']);
      expect(both.exitCode).toBe(2);
      expect(both.stderr).toMatch(/--id=8 cannot also be provided when using --file/);
      expect(addService).toHaveBeenCalledTimes(2);
    } finally {
      addService.mockRestore();
      for (const name of ['api', 'api2']) if (rt.services().some((s) => s.name === name)) await rt.removeService(name);
    }
  });

  it('writes an IPv6 VIP and backend with the port after brackets (RFC 5952 section 6) in add, list, show and status', async () => {
    const added = await runCommand(ServiceAdd, [...api, 'web6', '--vip', 'fd00::100', '--port', '80', '--backend', 'v-vm1=[fd00::11]:8080,8081']);
    expect(added.exitCode).toBe(0);
    expect(added.stdout).toContain('service web6 added: TCP [fd00::100]:80, scheduler wlc');
    expect(added.stdout).toMatch(/^v-vm1\s+\[fd00::11\]:8080,8081\s+up\s/m);
    expect((await runCommand(ServiceList, api)).stdout).toMatch(/^web6\s+TCP\s+\[fd00::100\]:80\s+wlc\s/m);
    const shown = (await runCommand(ServiceShow, [...api, 'web6'])).stdout;
    expect(shown).toMatch(/^web6 {2}TCP \[fd00::100\]:80 \(mac /m);
    expect(shown).toMatch(/^v-vm1\s+\[fd00::11\]:8080,8081\s/m);
    const status = (await runCommand(Status, api)).stdout;
    expect(status).toMatch(/^web6 {2}TCP \[fd00::100\]:80 {2}wlc/m);
    expect(status).toMatch(/^web {2}TCP 10\.0\.0\.100:80 {2}wlc/m);
    await runCommand(ServiceRemove, [...api, 'web6']);
    expect(rt.services().map((s) => s.name)).toEqual(['web']);
  });

  it('backend add/weight/drain/enable/remove change the runtime', async () => {
    expect((await runCommand(BackendAdd, [...api, 'web', 'v-vm9', '--ip', '10.0.0.19', '--port', '8080', '--weight', '5'])).stdout).toContain('backend v-vm9 added to web');
    expect((await runCommand(BackendWeight, [...api, 'web', 'v-vm9', '7'])).stdout).toMatch(/^v-vm9\s+10\.0\.0\.19:8080\s+up\s+7\s/m);
    expect(JSON.parse((await runCommand(BackendDrain, [...api, 'web', 'v-vm9', '--json'])).stdout)).toMatchObject({ weight: 0, health: 'draining' });
    expect(JSON.parse((await runCommand(BackendEnable, [...api, 'web', 'v-vm9', '--json'])).stdout)).toMatchObject({ health: 'up' });
    await runCommand(BackendRemove, [...api, 'web', 'v-vm9']);
    expect(rt.service('web').backends.map((b) => b.id)).toEqual(['v-vm1', 'v-vm2']);
  });

  it('conns looks like ipvsadm -Lnc and filters', async () => {
    const all = await runCommand(Conns, api);
    expect(all.stdout).toContain('vadc connection entries: 2');
    expect(all.stdout).toMatch(/^TCP\s+00:00\s+5s\s+ACTIVE\s+10\.0\.0\.50:41000\s+10\.0\.0\.100:80\s+10\.0\.0\.11:8080\s+web\s+v-vm1$/m);
    const one = JSON.parse((await runCommand(Conns, [...api, '--backend', 'v-vm2', '--json'])).stdout) as unknown[];
    expect(one).toHaveLength(1);
  });

  it('flows prints ovs-ofctl-like lines per switch', async () => {
    const out = (await runCommand(Flows, api)).stdout;
    expect(out).toContain('dpid 0000000000000001: 1 flow');
    expect(out).toContain(' cookie=0x1, duration=50s, table=0, n_packets=4, n_bytes=300, priority=100,tcp,nw_dst=10.0.0.100,tp_dst=80 actions=controller');
  });

  it('events lists recent events and --follow streams new ones as NDJSON', async () => {
    expect((await runCommand(Events, api)).stdout).toMatch(/INFO {2}service_added \[web\] service web added/);
    const following = runCommand(Events, [...api, '--follow', '--json', '--count', '1', '--limit', '1']);
    // The follower subscribes before it prints anything; emit once the server has a listener.
    while (rt.bus.listenerCount('event') === 0) await new Promise((r) => setImmediate(r));
    rt.setHealth('web', 'v-vm2', 'down', 'timeout');
    const lines = (await following).stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    expect(lines.map((l) => l.kind)).toEqual(['service_added', 'backend_down']);
    rt.setHealth('web', 'v-vm2', 'up');
  });

  it('stats shows totals, and rates between --watch samples', async () => {
    expect((await runCommand(Stats, api)).stdout).toMatch(/^web\s+v-vm1\s+up\s+2\s+3\s+1\s+10\s+1\.2k\s+96\.0k\s+-\s+-\s+-\s+0\.250$/m);
    const watched = await runCommand(Stats, [...api, '--watch', '--count', '2', '--interval', '1', '--json']);
    const samples = watched.stdout.trim().split('\n').map((l) => JSON.parse(l) as Array<{ backend: string; packetsPerSec?: number }>);
    expect(samples).toHaveLength(2);
    expect(samples[0][0].packetsPerSec).toBeUndefined();
    expect(samples[1][0].packetsPerSec).toBe(0); // nothing moved in the fake between the samples
  });

  it('config validate works on a file without a daemon, listing every problem', async () => {
    const good = path.join(dir, 'good.yaml');
    copyFileSync(path.resolve(__dirname, '../../../examples/lab.yaml'), good);
    const ok = await runCommand(ConfigValidate, [good]);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/good\.yaml: valid \(\d+ services, \d+ backends\)/);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'services:\n  - name: web\n    vip: 10.0.0.300\n    port: 80\n    backends: []\n');
    const res = await runCommand(ConfigValidate, [bad]);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('services[0].vip');
    expect(res.stderr).toMatch(/Error: .*bad\.yaml: invalid configuration \(\d+ problems?\)/);
    const json = await runCommand(ConfigValidate, [bad, '--json']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false });
  });

  it('config show and apply talk to the daemon; apply refuses an invalid file before sending it', async () => {
    const good = path.join(dir, 'apply.yaml');
    copyFileSync(path.resolve(__dirname, '../../../examples/lab.yaml'), good);
    const applied = await runCommand(ConfigApply, [...api, good]);
    expect(applied.stdout).toContain('applied: service web');
    expect((await runCommand(ConfigShow, api)).stdout).toContain('name: web');
    const count = rt.applied.length;
    const bad = path.join(dir, 'bad-apply.yaml');
    writeFileSync(bad, 'services: 3\n');
    const refused = await runCommand(ConfigApply, [...api, bad]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/bad-apply\.yaml: .*nothing applied/);
    expect(rt.applied.length).toBe(count);
  });

  it('daemon not running: one line, exit 1', async () => {
    const res = await runCommand(Status, ['--api', `unix:${dir}/missing.sock`]);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toBe(`Error: vadc daemon not reachable at unix:${dir}/missing.sock (ENOENT): is \`vadc start\` running?\n`);
    expect(res.stdout).toBe('');
  });

  it('VADC_API and VADC_TOKEN select the endpoint; a bad token is a one-line 401', async () => {
    process.env.VADC_API = tcpApi;
    try {
      process.env.VADC_TOKEN = TOKEN;
      expect((await runCommand(ServiceList, [])).exitCode).toBe(0);
      process.env.VADC_TOKEN = 'wrong-token-0123456789abcdef0';
      const denied = await runCommand(ServiceList, []);
      expect(denied.exitCode).toBe(1);
      expect(denied.stderr).toBe('Error: missing or invalid bearer token\n');
    } finally {
      delete process.env.VADC_API;
      delete process.env.VADC_TOKEN;
    }
  });

  it('invalid arguments and bad requests: one line, non-zero exit', async () => {
    const missingArg = await runCommand(BackendWeight, [...api, 'web', 'v-vm1']);
    expect(missingArg.exitCode).toBe(2);
    expect(missingArg.stderr).toMatch(/^Error: Missing 1 required arg/);
    // Every parse failure is a usage error: exit 2, the command's help named.
    const badWeight = await runCommand(BackendWeight, [...api, 'web', 'v-vm1', 'heavy']);
    expect(badWeight.exitCode).toBe(2);
    expect(badWeight.stderr).toMatch(/^Error: Expected an integer but received: heavy \(see vadc \S+ --help\)$/m);
    const badWeightJson = await runCommand(BackendWeight, [...api, 'web', 'v-vm1', 'heavy', '--json']);
    expect(badWeightJson.stdout).toBe('');
    expect(JSON.parse(badWeightJson.stderr)).toEqual({ error: { code: 'usage', message: expect.stringMatching(/^Expected an integer/) } });
    const badBackend = await runCommand(ServiceAdd, [...api, 'x', '--vip', '10.0.0.1', '--port', '80', '--backend', 'nonsense']);
    expect(badBackend.exitCode).toBe(2);
    expect(badBackend.stderr).toMatch(/^Error: Parsing --backend: invalid --backend "nonsense": missing VNIC=/);
    const badVip = await runCommand(ServiceAdd, [...api, 'x', '--vip', '10.0.0.999', '--port', '80']);
    expect(badVip.exitCode).toBe(1);
    expect(badVip.stderr).toBe('Error: invalid request body: vip: must be an IPv4 or IPv6 address, or a prefix a.b.c.d/len or x:y::/len (lblc, lblcr, dh)\n');
    const notFound = await runCommand(ServiceShow, [...api, 'nope']);
    expect(notFound.stderr).toBe('Error: no service named nope\n');
    const notFoundJson = await runCommand(ServiceShow, [...api, 'nope', '--json']);
    expect([notFoundJson.exitCode, notFoundJson.stdout, JSON.parse(notFoundJson.stderr)]).toEqual([1, '', { error: { code: 'not_found', message: 'no service named nope' } }]);
    const badEndpoint = await runCommand(Status, ['--api', 'http://localhost']);
    expect(badEndpoint.exitCode).toBe(2);
    expect(badEndpoint.stderr).toMatch(/^Error: Parsing --api: invalid API endpoint "http:\/\/localhost"/);
    // --port takes one value per flag, so an argument after it stays an argument.
    const portThenArg = await runCommand(BackendAdd, [...api, 'web', '--port', '8080', 'v-vm7', '--ip', '10.0.0.17']);
    expect(portThenArg.exitCode).toBe(0);
    expect(rt.service('web').backends.find((b) => b.id === 'v-vm7')?.ports).toEqual([8080]);
    await rt.removeBackend('web', 'v-vm7');
  });
});
