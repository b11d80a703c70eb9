// The real-OVS bench's client program (run inside the lab's namespaces there), here on loopback: connections by turns
// over several targets, each target's connect times and failures apart, so the latency phase can compare the VIP and
// the static path measured at the same moments.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseClientReport, TCP_CLIENT_JS, type ClientOptions } from '../../../bench/lib/realovs-scripts';

describe('realovs bench client: targets by turns', () => {
  let dir: string;
  let server: net.Server;
  let port: number;
  let accepted = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-client-'));
    writeFileSync(path.join(dir, 'client.js'), TCP_CLIENT_JS);
    server = net.createServer((s) => {
      accepted++;
      s.on('error', () => undefined);
      s.once('data', () => s.end('k'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const runClient = async (o: ClientOptions) => {
    // Asynchronously: the server answering it runs in this process.
    const child = spawn(process.execPath, [path.join(dir, 'client.js'), JSON.stringify(o)]);
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    return parseClientReport(out);
  };

  it('alternates over the targets and keeps each one\'s connect times and failures', async () => {
    // A port nobody listens on: connections there are refused (counted as failed for that target only).
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    accepted = 0;
    const report = await runClient({
      host: '127.0.0.1', port, count: 7, concurrency: 1, timeoutMs: 3000, holdMs: 0,
      targets: [{ host: '127.0.0.1', port }, { host: '127.0.0.1', port: closedPort }],
    });
    expect(report.ok).toBe(4);
    expect(report.failed).toBe(3);
    expect(report.connectUsByTarget?.map((l) => l.length)).toEqual([4, 0]);
    expect(report.failedByTarget).toEqual([0, 3]);
    expect(accepted).toBe(4);
  });

  it('with calls: times each connect(2) call inside the connect and reports the source port the server saw', async () => {
    const seen = new Set<number>();
    const onConnection = (s: net.Socket) => seen.add(s.remotePort!);
    server.on('connection', onConnection);
    const report = await runClient({ host: '127.0.0.1', port, count: 4, concurrency: 1, timeoutMs: 3000, holdMs: 0, times: true, calls: true });
    server.off('connection', onConnection);
    expect(report.ok).toBe(4);
    const [ports] = report.portByTarget!;
    expect(new Set(ports)).toEqual(seen);
    report.callUsByTarget![0].forEach((callUs, i) => {
      const endUs = report.callEndUsByTarget![0][i];
      expect(callUs).toBeGreaterThan(0);
      // The call returns after it started and before the connection is up.
      expect(endUs).toBeGreaterThanOrEqual(callUs);
      expect(endUs).toBeLessThanOrEqual(report.connectUsByTarget![0][i]);
    });
  });

  it('without targets: one list, the same as connectUs', async () => {
    const report = await runClient({ host: '127.0.0.1', port, count: 3, concurrency: 2, timeoutMs: 3000, holdMs: 0 });
    expect(report.ok).toBe(3);
    expect(report.connectUsByTarget).toEqual([report.connectUs]);
    expect(report.failedByTarget).toEqual([0]);
  });
});
