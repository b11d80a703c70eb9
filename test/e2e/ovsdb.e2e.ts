/**
 * The OVSDB client against a real, private ovsdb-server (no ovs-vswitchd needed): unix, tcp and
 * mutual-TLS transports, list_dbs/get_schema, the cache agreeing with ovs-vsctl, the resolver
 * following a port, typed transaction errors, and convergence after a server restart during which
 * a row was deleted.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  OvsdbClient,
  OvsdbConnectionError,
  OvsdbRpcError,
  OvsdbTransactionError,
  VnicEvent,
  VnicResolver,
  VswitchCache,
  condition,
  op,
  uuid,
} from '../../src/ovsdb';
import { untilValue } from '../helpers/until';

const run = promisify(execFile);
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The bound of this file's waits (each ends only a failing test). */
const WAIT_MS = 15_000;

class PrivateOvsdb {
  readonly dir = mkdtempSync(join(tmpdir(), 'vadc-ovsdbe2e-'));
  readonly db = join(this.dir, 'conf.db');
  readonly sock = join(this.dir, 'db.sock');
  readonly pidfile = join(this.dir, 'ovsdb-server.pid');
  tcpPort = 0;
  sslPort = 0;
  private readonly env = { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir };

  async create(): Promise<void> {
    this.tcpPort = await freePort();
    this.sslPort = await freePort();
    await run('ovsdb-tool', ['create', this.db, SCHEMA]);
    await this.makeCertificates();
    await this.start();
    await this.vsctl('init');
  }

  cert(name: string): string {
    return join(this.dir, name);
  }

  private async openssl(...args: string[]): Promise<void> {
    await run('openssl', args, { cwd: this.dir });
  }

  private async makeCa(prefix: string): Promise<void> {
    await this.openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${prefix}`,
      '-keyout', `${prefix}-key.pem`, '-out', `${prefix}-cert.pem`);
  }

  private async makeSigned(name: string, ca: string): Promise<void> {
    await this.openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`,
      '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
    writeFileSync(join(this.dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\n');
    await this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}-cert.pem`, '-CAkey', `${ca}-key.pem`,
      '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}-cert.pem`);
  }

  private async makeCertificates(): Promise<void> {
    await this.makeCa('ca');
    await this.makeCa('otherca');
    await this.makeSigned('server', 'ca');
    await this.makeSigned('client', 'ca');
  }

  async start(): Promise<void> {
    await run('ovsdb-server', [
      this.db,
      `--remote=punix:${this.sock}`,
      `--remote=ptcp:${this.tcpPort}:127.0.0.1`,
      `--remote=pssl:${this.sslPort}:127.0.0.1`,
      `--private-key=${this.cert('server-key.pem')}`,
      `--certificate=${this.cert('server-cert.pem')}`,
      `--ca-cert=${this.cert('ca-cert.pem')}`,
      `--pidfile=${this.pidfile}`,
      `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
      `--log-file=${join(this.dir, 'ovsdb-server.log')}`,
      '--detach',
    ], { env: this.env });
  }

  async stop(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidfile, 'utf8').trim());
    } catch {
      return;
    }
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    await untilValue(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'ovsdb-server to exit', WAIT_MS, { pollMs: 50 });
  }

  async vsctl(...args: string[]): Promise<string> {
    const { stdout } = await run('ovs-vsctl', [`--db=unix:${this.sock}`, '--no-wait', '--timeout=10', ...args], { env: this.env });
    return stdout.trim();
  }

  /** Edits the database file directly, for changes made while the server is down. */
  async offlineTransact(ops: unknown[]): Promise<void> {
    await run('ovsdb-tool', ['transact', this.db, JSON.stringify(['Open_vSwitch', ...ops])]);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const server = new PrivateOvsdb();
const clients: OvsdbClient[] = [];

async function connect(target: string, opts = {}): Promise<OvsdbClient> {
  const client = await OvsdbClient.connect(target, { backoffInitialMs: 50, backoffMaxMs: 400, probeIntervalMs: 0, ...opts });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  await server.create();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server.destroy();
});

describe('ovsdb client against a real ovsdb-server', () => {
  test('list_dbs and get_schema over unix and tcp', async () => {
    for (const target of [`unix:${server.sock}`, `tcp:127.0.0.1:${server.tcpPort}`]) {
      const client = await connect(target);
      expect(await client.listDbs()).toContain('Open_vSwitch');
      const schema = await client.getSchema('Open_vSwitch');
      expect(schema.name).toBe('Open_vSwitch');
      expect(schema.tables.Interface.columns.ofport).toEqual({ key: 'integer', min: 0, max: 1 });
      await expect(client.getSchema('No_Such_Db')).rejects.toBeInstanceOf(OvsdbRpcError);
      await expect(client.getSchema('No_Such_Db')).rejects.toThrow(/unknown database/);
    }
  });

  test('an unreachable target is named in the error', async () => {
    const missing = join(server.dir, 'missing.sock');
    await expect(OvsdbClient.connect(`unix:${missing}`)).rejects.toThrow(`cannot reach OVSDB at unix:${missing}: ENOENT`);
  });

  test('cache agrees with ovs-vsctl; resolver follows a port appearing and disappearing', async () => {
    const client = await connect(`unix:${server.sock}`);
    const cache = await VswitchCache.start(client);
    const resolver = new VnicResolver(cache);
    const events: VnicEvent[] = [];
    for (const kind of ['appear', 'change', 'move', 'disappear'] as const) resolver.on(kind, (e) => events.push(e));
    expect(resolver.watch('iface-id:vm-e2e-1')).toBeUndefined();

    await server.vsctl('add-br', 'e2ebr0');
    await server.vsctl('add-port', 'e2ebr0', 'e2evm1', '--', 'set', 'Interface', 'e2evm1', 'type=internal',
      'external_ids:iface-id=vm-e2e-1', 'external_ids:attached-mac=02:00:00:00:00:01');

    const appeared = await untilValue(() => events.find((e) => e.kind === 'appear'), 'appear event', WAIT_MS, { pollMs: 50 });
    expect(appeared.new).toMatchObject({ name: 'e2evm1', bridge: 'e2ebr0', port: 'e2evm1', mac: '02:00:00:00:00:01' });

    const bridgeUuid = await server.vsctl('get', 'Bridge', 'e2ebr0', '_uuid');
    const ifaceUuid = await server.vsctl('get', 'Interface', 'e2evm1', '_uuid');
    expect(cache.findByName('Bridge', 'e2ebr0')?.uuid).toBe(bridgeUuid);
    expect(cache.findByName('Interface', 'e2evm1')).toMatchObject({
      uuid: ifaceUuid,
      type: 'internal',
      externalIds: { 'iface-id': 'vm-e2e-1', 'attached-mac': '02:00:00:00:00:01' },
    });
    // list-ports leaves out the bridge's own internal port, which is a Port row like any other.
    const vsctlPorts = [...(await server.vsctl('list-ports', 'e2ebr0')).split('\n').filter(Boolean), 'e2ebr0'].sort();
    const cachePorts = (cache.findByName('Bridge', 'e2ebr0')?.ports ?? []).map((u) => cache.get('Port', u)?.name).sort();
    expect(cachePorts).toEqual(vsctlPorts);
    expect(resolver.resolve('mac:02:00:00:00:00:01')?.name).toBe('e2evm1');
    expect(resolver.resolve('e2evm1')?.bridge).toBe('e2ebr0');

    await server.vsctl('set', 'Interface', 'e2evm1', 'external_ids:vm-uuid=abc');
    const changed = await untilValue(() => events.find((e) => e.kind === 'change'), 'change event', WAIT_MS, { pollMs: 50 });
    expect(changed.changed).toContain('externalIds');

    await server.vsctl('del-port', 'e2ebr0', 'e2evm1');
    const gone = await untilValue(() => events.find((e) => e.kind === 'disappear'), 'disappear event', WAIT_MS, { pollMs: 50 });
    expect(gone.old?.name).toBe('e2evm1');
    expect(cache.findByName('Interface', 'e2evm1')).toBeUndefined();
    resolver.dispose();
    await cache.stop();
  });

  test('transaction errors come back typed with the server text', async () => {
    const client = await connect(`unix:${server.sock}`);
    // Interface.ofport_request must be 1..65279: a constraint violation on operation 1.
    const failing = client.transact('Open_vSwitch', [
      op.comment('vadc e2e'),
      op.insert('Interface', { name: 'bad0', ofport_request: 70000 }),
    ]);
    await expect(failing).rejects.toBeInstanceOf(OvsdbTransactionError);
    await expect(failing).rejects.toMatchObject({ serverError: 'constraint violation', opIndex: 1, op: 'insert' });

    // A port referencing a missing interface: referential integrity fails at commit, after the last op.
    const dangling = client.transact('Open_vSwitch', [
      op.insert('Port', { name: 'dangling', interfaces: [uuid('00000000-0000-0000-0000-000000000001')] }),
    ]);
    await expect(dangling).rejects.toMatchObject({ serverError: 'referential integrity violation', opIndex: 1 });

    const unknownTable = client.transact('Open_vSwitch', [op.select('No_Such_Table', [])]);
    await expect(unknownTable).rejects.toThrow(/unknown table|No_Such_Table/);

    const selected = await client.transact('Open_vSwitch', [op.select('Open_vSwitch', [], ['_uuid'])]);
    expect(selected[0].rows).toHaveLength(1);
    const counted = await client.transact('Open_vSwitch', [
      op.mutate('Open_vSwitch', [condition('_uuid', '!=', uuid('00000000-0000-0000-0000-000000000000'))], [
        { column: 'external_ids', mutator: 'insert', value: new Map([['vadc-e2e', 'yes']]) },
      ]),
    ]);
    expect(counted[0].count).toBe(1);
    expect(await server.vsctl('get', 'Open_vSwitch', '.', 'external_ids:vadc-e2e')).toBe('yes');
  });

  test('mutual TLS works; a wrong CA fails with a clear error', async () => {
    const tls = {
      privateKey: server.cert('client-key.pem'),
      certificate: server.cert('client-cert.pem'),
      caCert: server.cert('ca-cert.pem'),
    };
    const client = await connect(`ssl:127.0.0.1:${server.sslPort}`, { tls });
    expect(await client.listDbs()).toContain('Open_vSwitch');

    const wrongCa = OvsdbClient.connect(`ssl:127.0.0.1:${server.sslPort}`, {
      tls: { ...tls, caCert: server.cert('otherca-cert.pem') },
      reconnect: false,
    });
    await expect(wrongCa).rejects.toBeInstanceOf(OvsdbConnectionError);
    await expect(wrongCa).rejects.toThrow(new RegExp(`cannot reach OVSDB at ssl:127.0.0.1:${server.sslPort}: .*certificate`));
  });

  test('after an ovsdb-server restart the client reconnects and the cache converges', async () => {
    await server.vsctl('add-br', 'e2ebr1');
    await server.vsctl('add-port', 'e2ebr1', 'e2ekeep', '--', 'set', 'Interface', 'e2ekeep', 'type=internal');
    await server.vsctl('add-port', 'e2ebr1', 'e2egone', '--', 'set', 'Interface', 'e2egone', 'type=internal');
    const client = await connect(`unix:${server.sock}`);
    const cache = await VswitchCache.start(client);
    expect(cache.findByName('Interface', 'e2egone')).toBeDefined();
    const deleted: string[] = [];
    cache.on('delete', (e) => {
      if (e.table === 'Interface' && e.old) deleted.push(e.old.name);
    });
    let reconnected = 0;
    client.on('connected', () => reconnected++);

    const goneUuid = await server.vsctl('get', 'Port', 'e2egone', '_uuid');
    await server.stop();
    await untilValue(() => !client.connected, 'client to notice the disconnect', WAIT_MS, { pollMs: 50 });
    // While the server is down: drop the port from the bridge (Port and Interface are then garbage-collected)
    // and rename the kept interface's external id.
    await server.offlineTransact([
      { op: 'mutate', table: 'Bridge', where: [['name', '==', 'e2ebr1']], mutations: [['ports', 'delete', ['uuid', goneUuid]]] },
      { op: 'mutate', table: 'Interface', where: [['name', '==', 'e2ekeep']], mutations: [['external_ids', 'insert', ['map', [['iface-id', 'kept-1']]]]] },
    ]);
    await server.start();

    await untilValue(() => reconnected > 0, 'reconnect', WAIT_MS, { pollMs: 50 });
    await untilValue(() => deleted.includes('e2egone'), 'the deleted interface to leave the cache', WAIT_MS, { pollMs: 50 });
    expect(cache.findByName('Interface', 'e2egone')).toBeUndefined();
    expect(cache.findByName('Interface', 'e2ekeep')?.externalIds['iface-id']).toBe('kept-1');

    // Live updates flow again on the new connection.
    await server.vsctl('set', 'Interface', 'e2ekeep', 'external_ids:iface-id=kept-2');
    await untilValue(() => cache.findByName('Interface', 'e2ekeep')?.externalIds['iface-id'] === 'kept-2', 'a live update after reconnect', WAIT_MS, { pollMs: 50 });
    await cache.stop();
  });
});
