// Issue 18, defect 4: "Enough half-open API connections exhaust the process's file descriptors: the API socket
// resets, a new switch is closed at once, OVSDB gets EMFILE." Here `serve()` runs in this process with its
// open-file limit lowered (prlimit) to what it already holds plus the budget its connection limits ask for
// (caps + reserve: no `fd_budget` warning), another process keeps more idle API connections open than that
// whole budget, and a switch and a new OVSDB connection must still get in while the API listener holds its cap.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConfig } from '../../../src/config';
import { serve } from '../../../src/daemon/serve';
import { fdBudget, openFileLimit } from '../../../src/daemon/fd-budget';
import { createLogger } from '../../../src/util/logger';
import { openFds, setSoftFileLimit } from '../../helpers/fd-limit';
import { FakeSwitch } from '../controller/fake-switch';
import { until } from '../../helpers/until';

const dir = mkdtempSync(path.join(tmpdir(), 'vadc-fd-reserve-'));
const dbPath = path.join(dir, 'db.sock');
const apiSocket = path.join(dir, 'api.sock');
const configPath = path.join(dir, 'vadc.yaml');
// The default limits; one control listener (the unix socket), no metrics listener. The host election in the test's
// directory, not the host's /var/lib/vadc/ha (another run of this file would be its peer).
const CONFIG = `controller: {listen: "tcp:127.0.0.1:0", ha: {dir: ${JSON.stringify(path.join(dir, 'ha'))}}}\novsdb: unix:${path.join(dir, 'no-db.sock')}\nservices: []\n`;
const limits = parseConfig(CONFIG).limits;
const BUDGET = fdBudget(limits, 1, false);
const FLOOD = BUDGET + 128;

/** An OVSDB stand-in that answers echo: enough for "a new connection to the database works". */
function echoServer(): net.Server {
  return net.createServer((conn) => {
    conn.on('error', () => undefined);
    conn.on('data', (chunk) => {
      const m = JSON.parse(chunk.toString()) as { id: unknown; params: unknown[] };
      conn.write(JSON.stringify({ id: m.id, result: m.params, error: null }));
    });
  }).listen(dbPath);
}

/** Opens a socket to the echo server and round-trips an echo: 'ok' or the error's code (EMFILE when out of files). */
function ovsdbEcho(): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(dbPath);
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    s.on('connect', () => s.write(JSON.stringify({ id: 1, method: 'echo', params: [] })));
    s.on('data', () => {
      resolve('ok');
      s.destroy();
    });
  });
}

/** A process that keeps `n` idle connections open to the API socket, replacing each one the server closes. */
function flooder(n: number) {
  const script = `
    const net = require('node:net');
    const open = new Set();
    const topUp = () => {
      while (open.size < ${n}) {
        const s = net.connect(${JSON.stringify(apiSocket)});
        open.add(s);
        s.on('error', () => undefined);
        s.on('close', () => open.delete(s));
      }
    };
    topUp();
    setInterval(topUp, 1000); // the held ones last until the API's 10 s header deadline
    process.stdout.write('flooding\\n');`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<void>((r) => child.stdout.once('data', () => r()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  /** Ends the flood and resolves once the process has exited (left running, it outlives the test file). */
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.kill()) await exited;
  };
  return { started, stop };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it(`an API flood of ${FLOOD} idle connections (the budget is ${BUDGET}) leaves room for a switch and a new OVSDB connection`, async () => {
  writeFileSync(configPath, CONFIG, { mode: 0o600 });
  const db = echoServer();
  const logged = new PassThrough();
  const lines: string[] = [];
  logged.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  const before = openFileLimit(); // undefined: unlimited
  setSoftFileLimit(openFds() + BUDGET); // the flooder starts under it too, but Node raises its own soft limit at startup
  const flood = flooder(FLOOD);
  let served: Awaited<ReturnType<typeof serve>> | undefined;
  const fakes: FakeSwitch[] = [];
  try {
    served = await serve({ configPath, apiSocket, logger: createLogger({ level: 'info', format: 'json', stream: logged }) });
    const api = served.api;
    const held = async () => (await api.openConnections())[`unix:${apiSocket}`];
    await flood.started;
    // The flood is in once the listener holds at least its cap and the count has stopped moving (without the
    // cap it would stop only where the files run out).
    let last = -1;
    await until(async () => {
      const now = await held();
      const settled = now >= limits.api_connections && now === last;
      last = now;
      return settled;
    }, 'the API flood settling', 30_000, { pollMs: 200 });
    // A switch connects and completes its handshake.
    const ofPort = Number(served.controllerTargets[0].split(':').pop());
    const daemon = served.daemon;
    const sw = await FakeSwitch.connect(ofPort, { dpid: 0x18n });
    fakes.push(sw);
    await until(() => daemon.events(1000).some((e) => e.kind === 'switch_up'), 'switch_up', 30_000, { pollMs: 200 });
    expect(sw.closed).toBe(false);
    // A new OVSDB connection opens and answers.
    expect(await ovsdbEcho()).toBe('ok');
    // All the while the API listener held its cap, and the budget fitted the limit: no fd_budget warning, no EMFILE.
    expect(await held()).toBe(limits.api_connections);
    expect(lines.filter((l) => l.includes('fd_budget') || l.includes('EMFILE'))).toEqual([]);
  } finally {
    await flood.stop();
    for (const f of fakes) f.destroy();
    await served?.stop();
    setSoftFileLimit(before ?? 'unlimited');
    await new Promise<void>((r) => db.close(() => r()));
  }
}, 120_000);
