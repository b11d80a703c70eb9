/**
 * OvsdbClient against scripted OVSDB servers written here (real unix sockets): monitor fallback,
 * transact error mapping, and hostile behaviour — junk, oversized and wrong-shaped messages,
 * silence, echo floods. The client must answer each with a typed error, never crash, and reconnect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  JsonStreamParser,
  OvsdbClient,
  OvsdbConnectionError,
  OvsdbError,
  OvsdbProtocolError,
  OvsdbTimeoutError,
  OvsdbTransactionError,
  RowChange,
  op,
} from '../../../src/ovsdb';

type Message = { id: unknown; method?: string; params?: unknown[] };
type Handler = (message: Message, conn: net.Socket, connIndex: number) => void;

const dir = mkdtempSync(join(tmpdir(), 'vadc-ovsdbunit-'));
let sockCounter = 0;
const servers: net.Server[] = [];
const clients: OvsdbClient[] = [];

const SCHEMA = {
  name: 'Test',
  version: '1.0.0',
  tables: { Bridge: { columns: { name: { type: 'string' } } } },
};
const BR = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';

/** A server that answers list_dbs/get_schema itself and passes everything else to `handler`. */
async function scriptedServer(handler: Handler): Promise<{ target: string; connections: () => number }> {
  const path = join(dir, `s${sockCounter++}.sock`);
  let connections = 0;
  const server = net.createServer((conn) => {
    const index = connections++;
    const parser = new JsonStreamParser();
    conn.on('error', () => undefined);
    conn.on('data', (chunk) => {
      let messages: unknown[];
      try {
        messages = parser.push(chunk);
      } catch {
        conn.destroy();
        return;
      }
      for (const m of messages as Message[]) {
        if (m.method === 'list_dbs') conn.write(JSON.stringify({ id: m.id, result: ['Test'], error: null }));
        else if (m.method === 'get_schema') conn.write(JSON.stringify({ id: m.id, result: SCHEMA, error: null }));
        // These servers play OVS before 2.12, which answers monitor_cond_since as any unknown method.
        else if (m.method === 'monitor_cond_since') conn.write(JSON.stringify({ id: m.id, result: null, error: 'unknown method' }));
        else handler(m, conn, index);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  servers.push(server);
  return { target: `unix:${path}`, connections: () => connections };
}

async function connect(target: string): Promise<OvsdbClient> {
  const client = await OvsdbClient.connect(target, { probeIntervalMs: 0, backoffInitialMs: 10, backoffMaxMs: 40 });
  clients.push(client);
  return client;
}

function nextEvent<T extends unknown[]>(client: OvsdbClient, event: 'connected' | 'disconnected'): Promise<T> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args as T)));
}

const reply = (conn: net.Socket, id: unknown, result: unknown): boolean =>
  conn.write(JSON.stringify({ id, result, error: null }));

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

describe('OvsdbClient against scripted servers', () => {
  test('connection failures name the target', async () => {
    const missing = join(dir, 'nobody.sock');
    await expect(OvsdbClient.connect(`unix:${missing}`)).rejects.toBeInstanceOf(OvsdbConnectionError);
    await expect(OvsdbClient.connect(`unix:${missing}`)).rejects.toThrow(`cannot reach OVSDB at unix:${missing}: ENOENT`);
    await expect(OvsdbClient.connect('udp:1.2.3.4:5')).rejects.toThrow('invalid OVSDB target "udp:1.2.3.4:5"');
    await expect(OvsdbClient.connect('tcp:127.0.0.1:99999')).rejects.toThrow('port 1-65535');
  });

  test('falls back to plain monitor when monitor_cond is unknown, and follows updates', async () => {
    const seen: string[] = [];
    const { target } = await scriptedServer((m, conn) => {
      seen.push(m.method as string);
      if (m.method === 'monitor_cond') conn.write(JSON.stringify({ id: m.id, result: null, error: 'unknown method' }));
      if (m.method === 'monitor') {
        reply(conn, m.id, { Bridge: { [BR]: { new: { name: 'br0' } } } });
        conn.write(JSON.stringify({ method: 'update', params: [m.params?.[1], { Bridge: { [BR]: { old: { name: 'br0' }, new: { name: 'br9' } } } }], id: null }));
      }
    });
    const client = await connect(target);
    const batches: [RowChange[], string][] = [];
    const updated = new Promise<void>((resolve) =>
      client.monitor('Test', { Bridge: { columns: ['name'] } }, (changes, kind) => {
        batches.push([changes, kind]);
        if (kind === 'update') resolve();
      }),
    );
    await updated;
    expect(seen).toEqual(['monitor_cond', 'monitor']);
    expect(batches.map(([c, kind]) => [kind, c.map((x) => x.new?.name)])).toEqual([
      ['initial', ['br0']],
      ['update', ['br9']],
    ]);
  });

  test('maps transact errors to the failing operation', async () => {
    const { target } = await scriptedServer((m, conn) => {
      if (m.method === 'transact') {
        reply(conn, m.id, [{}, { error: 'constraint violation', details: 'ofport_request 70000 out of range' }, null]);
      }
    });
    const client = await connect(target);
    const pending = client.transact('Test', [op.comment('x'), op.insert('Bridge', { name: 'b' }), op.delete('Bridge', [])]);
    await expect(pending).rejects.toBeInstanceOf(OvsdbTransactionError);
    await expect(pending).rejects.toMatchObject({
      serverError: 'constraint violation',
      details: 'ofport_request 70000 out of range',
      opIndex: 1,
      op: 'insert',
    });
  });

  test('a server that never answers: the request times out and the client stays usable', async () => {
    const { target } = await scriptedServer(() => undefined);
    const client = await connect(target);
    await expect(client.transact('Test', [op.comment('x')], { timeoutMs: 30 })).rejects.toBeInstanceOf(OvsdbTimeoutError);
    expect(await client.listDbs()).toEqual(['Test']);
  });

  test.each([
    ['junk bytes', (conn: net.Socket) => conn.write('\x00\xffGARBAGE'), 'unexpected byte'],
    ['invalid JSON', (conn: net.Socket) => conn.write('{"id":1,"result":[}]'), 'invalid JSON'],
    ['an oversized message', (conn: net.Socket) => conn.write(`{"id":1,"result":"${'x'.repeat(5000)}"}`), 'exceeds the limit'],
    ['a lying response shape', (conn: net.Socket) => conn.write('{"jsonrpc":"2.0"}'), 'neither request nor response'],
    [
      'an update2 for an unknown row',
      (conn: net.Socket) => conn.write(JSON.stringify({ method: 'update2', params: ['vadc-monitor-1', { Bridge: { [OTHER]: { modify: { name: 'x' } } } }], id: null })),
      'unknown row',
    ],
  ])('%s: typed error, disconnect, reconnect and re-monitor', async (_, misbehave, reason) => {
    const monitorsPerConnection: number[] = [];
    const { target } = await scriptedServer((m, conn, index) => {
      if (m.method === 'monitor_cond') {
        monitorsPerConnection[index] = (monitorsPerConnection[index] ?? 0) + 1;
        reply(conn, m.id, { Bridge: { [BR]: { initial: { name: index === 0 ? 'before' : 'after' } } } });
        if (index === 0) misbehave(conn);
      }
    });
    const client = await OvsdbClient.connect(target, { probeIntervalMs: 0, backoffInitialMs: 10, maxMessageBytes: 1024 });
    clients.push(client);
    const disconnected = nextEvent<[OvsdbError]>(client, 'disconnected');
    const reconnected = nextEvent<[]>(client, 'connected');
    const names: string[] = [];
    await client.monitor('Test', { Bridge: {} }, (changes) => changes.forEach((c) => c.new && names.push(c.new.name as string)));
    const [error] = await disconnected;
    expect(error).toBeInstanceOf(OvsdbProtocolError);
    expect(error.message).toContain(reason);
    await reconnected;
    expect(monitorsPerConnection).toEqual([1, 1]);
    expect(names).toEqual(['before', 'after']);
    expect(await client.listDbs()).toEqual(['Test']);
  });

  test('an echo flood is answered in full and the client keeps working', async () => {
    const FLOOD = 2000;
    let answered = 0;
    let flooded!: () => void;
    const allAnswered = new Promise<void>((resolve) => (flooded = resolve));
    const { target } = await scriptedServer((m, conn) => {
      if (m.method === 'transact') {
        conn.write(Array.from({ length: FLOOD }, (_, i) => JSON.stringify({ method: 'echo', params: [i], id: `e${i}` })).join(''));
        reply(conn, m.id, [{}]);
      }
      if (m.method === undefined && typeof m.id === 'string' && m.id.startsWith('e') && ++answered === FLOOD) flooded();
    });
    const client = await connect(target);
    await expect(client.transact('Test', [op.comment('go')])).resolves.toEqual([{}]);
    await allAnswered;
    expect(answered).toBe(FLOOD);
    expect(await client.listDbs()).toEqual(['Test']);
  });

  test('a peer that floods requests but never reads our answers: the session closes at the send-buffer bound', async () => {
    const { target } = await scriptedServer((m, conn) => {
      if (m.method === 'transact') {
        conn.pause(); // read nothing more: the echo replies pile up on the client's side
        const payload = 'x'.repeat(900);
        for (let i = 0; i < 4000; i++) conn.write(JSON.stringify({ method: 'echo', params: [payload], id: `e${i}` }));
      }
    });
    const client = await OvsdbClient.connect(target, { probeIntervalMs: 0, maxMessageBytes: 1024 });
    clients.push(client);
    const disconnected = nextEvent<[OvsdbError]>(client, 'disconnected');
    client.transact('Test', [op.comment('go')]).catch(() => undefined);
    const [error] = await disconnected;
    expect(error).toBeInstanceOf(OvsdbProtocolError);
    expect(error.message).toMatch(/the peer is not reading: more than 1048576 bytes wait to be sent/);
  });
});
