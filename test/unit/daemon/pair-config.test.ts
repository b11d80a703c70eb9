// Issue 14: the standby is hot with the master's configuration, runtime changes included (./src/daemon/pair-config.ts).
import { RuntimeError } from '../../../src/runtime/types';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { pairKey } from '../../../src/daemon/host-election';
import { adoptedText, PairConfigFile, PairConfigSync, publishedText, type PublishedConfig } from '../../../src/daemon/pair-config';
import { serve, type Served } from '../../../src/daemon/serve';
import { silentLogger } from '../../../src/util/logger';
import { until } from '../../helpers/until';

const TOKEN = 'pair-config-token-0123456789abcdef';
const A = `# instance a
controller: { listen: "tcp:127.0.0.1:6653", echo_interval: 3, ha: { dir: /var/lib/vadc/ha } }
api: { listen: "tcp:127.0.0.1:8181", token: ${TOKEN} }
log: { level: debug }
services:
  - { name: web, vip: 10.0.0.100, port: 80, backends: [{ vnic: v1, ip: 10.0.0.11, ports: [8080] }] }
`;

describe('publishedText and adoptedText', () => {
  it('a master publishes neither its secrets nor its own parts', () => {
    const text = publishedText(A);
    expect(text).not.toContain(TOKEN);
    expect(parse(text)).toEqual({ controller: { echo_interval: 3 }, services: [{ name: 'web', vip: '10.0.0.100', port: 80, backends: [{ vnic: 'v1', ip: '10.0.0.11', ports: [8080] }] }] });
  });

  it('the standby takes the master\'s services and settings and keeps its listen addresses, HA, API (token) and log settings', () => {
    const ownB = A.replace('6653', '6654').replace('8181', '8182').replace('level: debug', 'level: info');
    const master = publishedText(A.replace('echo_interval: 3', 'echo_interval: 7').replace('ports: [8080]', 'ports: [8080, 8081]'));
    const next = adoptedText(ownB, master);
    expect(next).toBeDefined();
    const got = parse(next!) as Record<string, Record<string, unknown>>;
    expect(got.controller).toEqual({ echo_interval: 7, listen: 'tcp:127.0.0.1:6654', ha: { dir: '/var/lib/vadc/ha' } });
    expect(got.api).toEqual({ listen: 'tcp:127.0.0.1:8182', token: TOKEN });
    expect(got.log).toEqual({ level: 'info' });
    expect(got.services).toEqual([{ name: 'web', vip: '10.0.0.100', port: 80, backends: [{ vnic: 'v1', ip: '10.0.0.11', ports: [8080, 8081] }] }]);
  });

  it('nothing to adopt when only the instance\'s own parts differ; a section the master dropped goes', () => {
    const ownB = A.replace('6653', '6654').replace('8181', '8182');
    expect(adoptedText(ownB, publishedText(A))).toBeUndefined();
    const without = adoptedText(ownB, publishedText(A.replace(/services:[\s\S]*$/, 'services: []\n')));
    expect((parse(without!) as { services: unknown[] }).services).toEqual([]);
  });

  it('a publication that is not a YAML mapping is an error naming it', () => {
    expect(() => adoptedText(A, '- a list')).toThrow('the published configuration is not a YAML mapping');
  });

  it('the pair key ignores each instance\'s own parts and nothing else', () => {
    const config = { controller: { listen: 'tcp:127.0.0.1:6653', echo_interval: 5, ha: { dir: '/a' } }, api: { listen: 'unix:/a.sock', token: 'x' }, log: { level: 'info' }, services: [{ name: 'web' }] };
    const peer = { ...config, controller: { listen: 'tcp:127.0.0.1:6654', echo_interval: 5, ha: { dir: '/b' } }, api: { listen: 'unix:/b.sock' }, log: { level: 'debug' } };
    expect(pairKey(peer)).toBe(pairKey(config));
    expect(pairKey({ ...config, controller: { ...config.controller, echo_interval: 6 } })).not.toBe(pairKey(config));
    expect(pairKey({ ...config, services: [] })).not.toBe(pairKey(config));
  });
});

describe('PairConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-pair-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes mode 0600 and reads each publication once', () => {
    const errors: string[] = [];
    const writer = new PairConfigFile(path.join(dir, 'vadc-k'), (m) => errors.push(m));
    const reader = new PairConfigFile(path.join(dir, 'vadc-k'), (m) => errors.push(m));
    expect(reader.read()).toBeUndefined();
    writer.publish({ from: 'a', seq: 1, text: 'services: []\n' });
    expect(statSync(writer.where).mode & 0o777).toBe(0o600);
    expect(reader.read()).toEqual({ from: 'a', seq: 1, text: 'services: []\n' });
    expect(reader.read()).toBeUndefined();
    writer.publish({ from: 'a', seq: 2, text: 'services: [] # again\n' });
    expect(reader.read()?.seq).toBe(2);
    expect(errors).toEqual([]);
  });

  it('a file vadc did not write is reported once and ignored', () => {
    const errors: string[] = [];
    const reader = new PairConfigFile(path.join(dir, 'vadc-k'), (m) => errors.push(m));
    writeFileSync(reader.where, '{"from": 1}');
    expect(reader.read()).toBeUndefined();
    expect(reader.read()).toBeUndefined();
    expect(errors).toEqual([`${reader.where} is not a configuration vadc published: ignored`]);
  });
});

describe('PairConfigSync', () => {
  function channel() {
    let doc: PublishedConfig | undefined;
    let fresh = false;
    return {
      where: 'memory',
      published: () => doc,
      publish(d: PublishedConfig) {
        doc = d;
        fresh = true;
      },
      read() {
        if (!fresh) return undefined;
        fresh = false;
        return doc;
      },
    };
  }

  function instance(ch: ReturnType<typeof channel>, id: string, text: string) {
    const state = {
      role: 'standby' as 'master' | 'standby', master: undefined as string | undefined, stoodBy: undefined as string | undefined, text, applied: [] as string[],
      events: [] as { kind: string; message: string }[], refuse: undefined as string | undefined, drained: new Map<string, [string, string]>(),
    };
    const sync = new PairConfigSync({
      channel: ch, now: () => 1000,
      election: () => ({ instance: id, role: state.role, master: state.master, stoodBy: state.stoodBy }),
      configText: () => state.text,
      apply: async (t) => {
        if (state.refuse) throw new Error(state.refuse);
        state.applied.push(t);
        state.text = t;
      },
      emit: (e) => state.events.push(e),
      drains: {
        list: () => [...state.drained.values()],
        set: async (service, backend, drained) => {
          if (drained) state.drained.set(`${service}/${backend}`, [service, backend]);
          else state.drained.delete(`${service}/${backend}`);
        },
      },
    });
    return { state, sync };
  }

  const ownB = A.replace('6653', '6654').replace('8181', '8182');
  const ports = (text: string) => (parse(text) as { services: { backends: { ports: number[] }[] }[] }).services[0].backends[0].ports;
  const changedA = A.replace('ports: [8080]', 'ports: [8080, 8081]');
  /** Master a (running `masterText`) and its standby b, on one channel. */
  function pair(masterText: string) {
    const ch = channel();
    const a = instance(ch, 'a', masterText);
    const b = instance(ch, 'b', ownB);
    a.state.role = 'master';
    b.state.master = 'a';
    return { ch, a, b };
  }

  it('a master publishes on each change; its standby adopts each once; a standby publishes nothing', async () => {
    const { ch, a, b } = pair(A);
    b.sync.changed();
    expect(ch.published()).toBeUndefined();
    a.sync.changed();
    await b.sync.look();
    expect(b.state.applied).toEqual([]); // the same configuration: nothing to do
    a.state.text = changedA;
    a.sync.changed();
    await b.sync.look();
    await b.sync.look();
    expect(b.state.applied).toHaveLength(1);
    expect(ports(b.state.text)).toEqual([8080, 8081]);
    expect(b.state.text).toContain('6654');
    expect(b.state.events.map((e) => e.kind)).toEqual(['pair_config_adopted']);
  });

  it('a standby ignores a publication of an instance that is not its master; promoted, it adopts its old master\'s last one first', async () => {
    const ch = channel();
    const old = instance(ch, 'old', changedA);
    const b = instance(ch, 'b', ownB);
    old.state.role = 'master';
    b.state.master = 'c'; // the record already names another master
    old.sync.changed();
    await b.sync.look();
    expect(b.state.applied).toEqual([]);
    b.state.master = 'old';
    await b.sync.look(); // stands by for old: adopts its publication
    old.state.text = changedA.replace('[8080, 8081]', '[8080, 8082]');
    old.sync.changed(); // old publishes and dies before b looks again
    b.state.role = 'master';
    await b.sync.promoted();
    expect(ports(b.state.text)).toEqual([8080, 8082]);
    expect(ch.published()?.from).toBe('b'); // and then publishes its own
  });

  it('promoted before its first look, a standby still adopts what the master its election stood by for published', async () => {
    // A flap on a loaded host (the master's heartbeat late past takeover_after) within intervalMs of the standby
    // standing by: it never looked, so only the election knows whom it stood by for. It used to publish its own
    // configuration instead, and the old master, now its standby, adopted that: the master's changes were lost.
    const { ch, a, b } = pair(changedA);
    a.sync.changed();
    b.state.stoodBy = 'a';
    b.state.role = 'master';
    b.state.master = undefined;
    await b.sync.promoted();
    expect(ports(b.state.text)).toEqual([8080, 8081]);
    expect(b.state.events.map((e) => e.kind)).toEqual(['pair_config_adopted']);
    expect(ch.published()?.from).toBe('b');
  });

  it('an instance that starts alone and is master at once does not adopt a publication left by another', async () => {
    const ch = channel();
    const gone = instance(ch, 'gone', changedA);
    gone.state.role = 'master';
    gone.sync.changed();
    const b = instance(ch, 'b', ownB);
    b.state.role = 'master';
    await b.sync.promoted();
    expect(b.state.applied).toEqual([]);
    expect(ch.published()?.from).toBe('b');
  });

  it('drains made through the API on the master are published and followed by the standby, both ways', async () => {
    const { ch, a, b } = pair(A);
    b.state.drained.set('web/v9', ['web', 'v9']); // a drain the master no longer has
    a.state.drained.set('web/v1', ['web', 'v1']);
    a.sync.changed();
    expect(ch.published()?.drained).toEqual([['web', 'v1']]);
    await b.sync.look();
    expect([...b.state.drained.values()]).toEqual([['web', 'v1']]);
    expect(b.state.applied).toEqual([]); // the configuration itself was the same
    expect(b.state.events.map((e) => e.kind)).toEqual(['pair_config_adopted']);
    a.state.drained.clear();
    a.sync.changed();
    await b.sync.look();
    expect([...b.state.drained.values()]).toEqual([]);
  });

  it('a publication that cannot be applied is reported once, with the reason', async () => {
    const { a, b } = pair(changedA);
    b.state.refuse = 'datapath (nat mode, conntrack zone) cannot change while vadc runs';
    a.sync.changed();
    await b.sync.look();
    await b.sync.look();
    expect(b.state.events).toEqual([{ kind: 'pair_config_refused', level: 'error', data: { from: 'a' }, message: 'the configuration a published (memory) was not adopted: datapath (nat mode, conntrack zone) cannot change while vadc runs' }]);
  });
});

describe('a pair of daemons (serve, host election in a temp dir, no switch)', () => {
  jest.setTimeout(120_000);
  let dir: string;
  const running: Served[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-pair-'));
  });
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function freePort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    return port;
  }

  // 30 s: the standby parses what it adopts in a worker thread that transpiles its sources first (over 10 s at load ~11).
  const WAIT_MS = 30_000;

  function configFile(name: string, port: number): string {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, [
      `controller: { listen: "tcp:127.0.0.1:${port}", ha: { election: host, dir: "${dir}/ha", takeover_after: 400 } }`,
      'datapath: { nat: flows }',
      `ovsdb: unix:${dir}/no-ovsdb.sock`,
      `api: { listen: "unix:${dir}/${name}.sock" }`,
      'services:',
      '  - { name: web, vip: 10.0.0.100, port: 80, backends: [{ vnic: v1, ip: 10.0.0.11, ports: [8080] }] }',
      '',
    ].join('\n'));
    return file;
  }

  const start = async (file: string): Promise<Served> => {
    const s = await serve({ configPath: file, logger: silentLogger() });
    running.push(s);
    return s;
  };
  const role = (s: Served) => s.daemon.status().ha?.role;
  const hasDns = (s: Served) => s.daemon.status().services.some((x) => x.name === 'dns');

  it('a service added on the master reaches the standby; the master restarted with it in its state file pairs again as the standby', async () => {
    const fileA = configFile('a', await freePort());
    const fileB = configFile('b', await freePort());
    let a = await start(fileA);
    const b = await start(fileB);
    await until(() => role(a) === 'master' && role(b) === 'standby', 'a master and a standby', WAIT_MS);
    await a.daemon.addService({ name: 'dns', vip: '10.0.0.53', protocol: 'udp', port: 53, backends: [{ vnic: 'v3', ip: '10.0.0.13', ports: [53] }] });
    await until(() => hasDns(b), 'the standby to adopt the service', WAIT_MS);
    await a.daemon.drain('web', 'v1');
    const v1 = (s: Served) => s.daemon.status().services.find((x) => x.name === 'web')?.backends.find((x) => x.id === 'v1');
    await until(() => ['draining', 'drained'].includes(String(v1(b)?.health)), 'the standby to drain v1 too', WAIT_MS);
    expect(b.daemon.events(100).map((e) => e.kind)).toContain('pair_config_adopted');
    expect(readFileSync(`${fileB}.state.yaml`, 'utf8')).toContain('10.0.0.53'); // kept over a restart of the standby
    expect(b.daemon.status().ha?.where).toBe(`${dir}/ha`);

    // The master stops: the standby takes over with the service; the old master comes back from its state file
    // (which has the service) and must pair with it again, not start an election of its own.
    await a.stop();
    running.splice(running.indexOf(a), 1);
    await until(() => role(b) === 'master', 'the standby to take over', WAIT_MS);
    expect(hasDns(b)).toBe(true);
    expect(['draining', 'drained']).toContain(String(v1(b)?.health));
    a = await start(fileA);
    expect(hasDns(a)).toBe(true);
    await until(() => role(a) === 'standby' && b.daemon.status().ha?.peer !== undefined, 'the restarted instance to stand by for the new master', WAIT_MS);
    expect(a.daemon.status().ha?.generation).toBe(b.daemon.status().ha?.generation);
  });

  it('the master says when its standby stops answering the heartbeat (peer_lost) and when one is there again (peer_seen)', async () => {
    const a = await start(configFile('a', await freePort()));
    const fileB = configFile('b', await freePort());
    let b = await start(fileB);
    await until(() => role(a) === 'master' && role(b) === 'standby', 'a master and a standby', WAIT_MS);
    const kinds = (kind: string) => a.daemon.events(1000).filter((e) => e.kind === kind);
    const idB = b.daemon.status().ha!.instance;
    await until(() => kinds('peer_seen').length === 1, 'peer_seen', WAIT_MS);
    expect(kinds('peer_seen')[0].data).toEqual({ peer: idB });
    await b.stop();
    running.splice(running.indexOf(b), 1);
    await until(() => kinds('peer_lost').length === 1, 'peer_lost', WAIT_MS);
    expect(kinds('peer_lost')[0]).toMatchObject({ level: 'warn', data: { peer: idB } });
    expect(a.daemon.status().ha?.peer).toBeUndefined();
    expect(role(a)).toBe('master');
    b = await start(fileB);
    await until(() => kinds('peer_seen').length === 2, 'peer_seen again', WAIT_MS);
    expect(kinds('peer_seen')[1].data).toMatchObject({ peer: b.daemon.status().ha!.instance });
    expect(kinds('peer_lost')).toHaveLength(1);
  });

  it('the standby refuses changes through its API, naming the master and its API; what it adopts from the master still comes in', async () => {
    const a = await start(configFile('a', await freePort()));
    const b = await start(configFile('b', await freePort()));
    await until(() => role(a) === 'master' && role(b) === 'standby', 'a master and a standby', WAIT_MS);
    expect(b.daemon.status().ha?.masterApi).toBe(`unix:${dir}/a.sock`); // `vadc status` on the standby shows where to go
    expect(a.daemon.status().ha?.masterApi).toBeUndefined();
    const masterNamed = new RegExp(`standby of its pair.*make the change on the master \\S+ \\(its control API: unix:${dir}/a\\.sock\\)`);
    const refusals: [string, () => Promise<unknown>][] = [
      ['add service', () => b.daemon.addService({ name: 'dns', vip: '10.0.0.53', protocol: 'udp', port: 53, backends: [{ vnic: 'v3', ip: '10.0.0.13', ports: [53] }] })],
      ['remove service', () => b.daemon.removeService('web')],
      ['add backend', () => b.daemon.addBackend('web', { vnic: 'v2', ip: '10.0.0.12', ports: [8080] })],
      ['remove backend', () => b.daemon.removeBackend('web', 'v1')],
      ['set weight', () => b.daemon.setWeight('web', 'v1', 5)],
      ['drain', () => b.daemon.drain('web', 'v1')],
      ['enable', () => b.daemon.enable('web', 'v1')],
      ['config apply', () => b.daemon.applyConfig(b.daemon.configText().replace('port: 80,', 'port: 81,'))],
    ];
    for (const [what, change] of refusals) {
      const err = await change().then(() => undefined, (e: unknown) => e);
      expect({ what, code: (err as RuntimeError | undefined)?.code }).toEqual({ what, code: 'conflict' });
      expect((err as Error).message).toMatch(masterNamed);
    }
    const web = () => b.daemon.status().services.find((x) => x.name === 'web');
    expect(web()?.port).toBe(80);
    expect(web()?.backends.map((x) => [x.id, x.health === 'draining' || x.health === 'drained'])).toEqual([['v1', false]]);
    expect(hasDns(b)).toBe(false);
    // The same changes on the master reach the standby (adopted past the refusal).
    await a.daemon.addService({ name: 'dns', vip: '10.0.0.53', protocol: 'udp', port: 53, backends: [{ vnic: 'v3', ip: '10.0.0.13', ports: [53] }] });
    await a.daemon.drain('web', 'v1');
    await until(() => hasDns(b) && ['draining', 'drained'].includes(String(web()?.backends[0].health)), 'the standby to adopt the service and the drain', WAIT_MS);
  });

  it('a master that stalls right after its changes (before its standby first looked) hands them over: the new master serves them', async () => {
    // A loaded host late past takeover_after (400 ms here) within the standby's first look (500 ms): it used to
    // take over with its own configuration and the old master, standing by, adopted that (the changes were lost).
    const a = await start(configFile('a', await freePort()));
    const b = await start(configFile('b', await freePort()));
    await until(() => role(a) === 'master' && role(b) === 'standby', 'a master and a standby', WAIT_MS);
    await a.daemon.addService({ name: 'dns', vip: '10.0.0.53', protocol: 'udp', port: 53, backends: [{ vnic: 'v3', ip: '10.0.0.13', ports: [53] }] });
    await a.daemon.drain('web', 'v1');
    clearInterval((a.daemon as unknown as { election: { timer: NodeJS.Timeout } }).election.timer); // a beats no more
    await until(() => role(b) === 'master', 'b to take over', WAIT_MS);
    const v1 = () => b.daemon.status().services.find((x) => x.name === 'web')?.backends.find((x) => x.id === 'v1');
    await until(() => hasDns(b) && ['draining', 'drained'].includes(String(v1()?.health)), 'the new master to serve the service and the drain', WAIT_MS);
  });
});
