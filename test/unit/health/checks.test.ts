import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { HealthSpecError, runCheck } from '../../../src/health';
import { scriptFolder } from './helpers';

const HOST = '127.0.0.1';
let folder: ReturnType<typeof scriptFolder>;
let dir: string;
const closers: Array<() => void> = [];

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port)));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  return port;
}

/** A UDP port nobody listens on: found among UDP ports (a free TCP port can be a bound UDP one, e.g. this file's echo server). */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  const port = socket.address().port;
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

let httpPort: number;
let httpsPort: number;
let silentPort: number;
let tcpPort: number;
let udpPort: number;

beforeAll(async () => {
  folder = scriptFolder('vadc-health-');
  dir = folder.dir;
  const handler: http.RequestListener = (req, res) => {
    if (req.url === '/fail') {
      res.writeHead(500);
      res.end('broken');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from ${req.headers.host}`);
  };
  const plain = http.createServer(handler);
  httpPort = await listen(plain);
  closers.push(() => plain.close());

  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=vadc-test',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const secure = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, handler);
  httpsPort = await listen(secure);
  closers.push(() => secure.close());

  // Accepts connections and never says a word.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  silentPort = await listen(silent);
  closers.push(() => {
    sockets.forEach((s) => s.destroy());
    silent.close();
  });

  const tcp = net.createServer((s) => s.end());
  tcpPort = await listen(tcp);
  closers.push(() => tcp.close());

  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, from) => udp.send(Buffer.from(`echo:${msg.toString()}`), from.port, from.address));
  await new Promise<void>((r) => udp.bind(0, HOST, () => r()));
  udpPort = udp.address().port;
  closers.push(() => udp.close());
});

afterAll(() => {
  closers.forEach((c) => c());
  folder.remove();
});

const script = (name: string, body: string, mode?: number) => folder.script(name, body, mode);

describe('tcp check', () => {
  it('passes against a listener', async () => {
    const r = await runCheck({ kind: 'tcp', host: HOST, port: tcpPort, timeoutMs: 1000 });
    expect(r).toMatchObject({ ok: true, reason: `connected to ${HOST}:${tcpPort}` });
  });
  it('fails with "connection refused" on a closed port', async () => {
    const r = await runCheck({ kind: 'tcp', host: HOST, port: await freePort(), timeoutMs: 1000 });
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/connection refused/);
  });
  it('binds to the given source address', async () => {
    const seen: string[] = [];
    const server = net.createServer((s) => {
      seen.push(s.remoteAddress ?? '');
      s.end();
    });
    const port = await listen(server);
    const r = await runCheck({ kind: 'tcp', host: HOST, port, timeoutMs: 1000, sourceAddress: '127.0.0.2' });
    server.close();
    expect(r.ok).toBe(true);
    expect(seen).toEqual(['127.0.0.2']);
  });
  it('a timeout that fires late because this process was not running does not fail a target that answered', async () => {
    // The loop is blocked (as on a CPU-starved host) past the deadline while the kernel completes the connect:
    // the deadline timer and the connect are both due when the loop runs again, and timers run first.
    const pending = runCheck({ kind: 'tcp', host: HOST, port: tcpPort, timeoutMs: 40 });
    const until = performance.now() + 200;
    while (performance.now() < until) { /* busy: the process is not serving its loop */ }
    expect(await pending).toMatchObject({ ok: true, reason: `connected to ${HOST}:${tcpPort}` });
  });
  it('a target that does not answer still times out after a late timer (the extra time is given once)', async () => {
    const pending = runCheck({ kind: 'http', host: HOST, port: silentPort, timeoutMs: 40 });
    const until = performance.now() + 200;
    while (performance.now() < until) { /* busy */ }
    const r = await pending;
    expect(r).toMatchObject({ ok: false, reason: 'timed out after 40 ms' });
    expect(r.durationMs).toBeGreaterThanOrEqual(240);
  });
  it('rejects a bad spec with a typed error before any I/O', async () => {
    await expect(async () => runCheck({ kind: 'tcp', host: HOST, port: 70000, timeoutMs: 1000 })).rejects.toThrow(HealthSpecError);
    await expect(async () => runCheck({ kind: 'tcp', host: HOST, port: 80, timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
  });
});

describe('http(s) check', () => {
  it('passes on 200 and reports the body', async () => {
    const r = await runCheck({ kind: 'http', host: HOST, port: httpPort, timeoutMs: 1000 });
    expect(r.ok).toBe(true);
    expect(r.output).toContain('HTTP 200');
  });
  it('fails on 500 with the status in the reason', async () => {
    const r = await runCheck({ kind: 'http', host: HOST, port: httpPort, path: '/fail', timeoutMs: 1000 });
    expect(r).toMatchObject({ ok: false, reason: 'HTTP 500 not in 200-299' });
    expect(r.output).toContain('broken');
  });
  it('accepts a status listed explicitly', async () => {
    const r = await runCheck({ kind: 'http', host: HOST, port: httpPort, path: '/fail', expectStatus: [500], timeoutMs: 1000 });
    expect(r.ok).toBe(true);
  });
  it('matches the body by substring and regex, and sends the host header', async () => {
    const spec = { kind: 'http' as const, host: HOST, port: httpPort, timeoutMs: 1000, hostHeader: 'svc.example' };
    expect((await runCheck({ ...spec, expectBody: 'hello from svc.example' })).ok).toBe(true);
    expect((await runCheck({ ...spec, expectBody: /^hello from \S+$/ })).ok).toBe(true);
    const miss = await runCheck({ ...spec, expectBody: /goodbye/ });
    expect(miss).toMatchObject({ ok: false, reason: 'HTTP 200 but body does not match /goodbye/' });
  });
  it('https passes against a self-signed server without verification', async () => {
    const r = await runCheck({ kind: 'https', host: HOST, port: httpsPort, timeoutMs: 2000 });
    expect(r.ok).toBe(true);
  });
  it('https fails when verification is asked for and the certificate is self-signed', async () => {
    const r = await runCheck({ kind: 'https', host: HOST, port: httpsPort, timeoutMs: 2000, tlsVerify: true });
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/self[- ]signed/i);
  });
  it('times out against a server that accepts but never answers', async () => {
    const r = await runCheck({ kind: 'http', host: HOST, port: silentPort, timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, reason: 'timed out after 300 ms' });
  });
  it('stops at once when aborted', async () => {
    const ac = new AbortController();
    const pending = runCheck({ kind: 'http', host: HOST, port: silentPort, timeoutMs: 60_000 }, ac.signal);
    ac.abort();
    expect(await pending).toMatchObject({ ok: false, reason: 'aborted' });
  });
  it('rejects a relative path', async () => {
    await expect(async () => runCheck({ kind: 'http', host: HOST, port: 80, path: 'x', timeoutMs: 100 })).rejects.toThrow(HealthSpecError);
  });
});

describe('udp check', () => {
  it('passes when the reply matches', async () => {
    const r = await runCheck({ kind: 'udp', host: HOST, port: udpPort, send: 'ping', expect: /^echo:ping$/, timeoutMs: 1000 });
    expect(r).toMatchObject({ ok: true, output: 'echo:ping' });
  });
  it('fails when the reply does not match', async () => {
    const r = await runCheck({ kind: 'udp', host: HOST, port: udpPort, send: 'ping', expect: 'pong', timeoutMs: 1000 });
    expect(r).toMatchObject({ ok: false, reason: 'reply does not match pong' });
  });
  it('fails with "connection refused" when nothing listens (ICMP port unreachable)', async () => {
    const r = await runCheck({ kind: 'udp', host: HOST, port: await freeUdpPort(), send: 'ping', timeoutMs: 1000 });
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/connection refused/);
  });
});

describe('script check', () => {
  it('passes on exit 0 and captures output', async () => {
    const r = await runCheck({ kind: 'script', command: [script('ok.sh', 'echo all good')], timeoutMs: 2000 });
    expect(r).toMatchObject({ ok: true, reason: 'exit code 0', output: 'all good\n' });
  });
  it('fails on exit 1 with stderr in the output', async () => {
    const r = await runCheck({ kind: 'script', command: [script('bad.sh', 'echo oops >&2; exit 1')], timeoutMs: 2000 });
    expect(r).toMatchObject({ ok: false, reason: 'exit code 1' });
    expect(r.output).toContain('oops');
  });
  it('reports a missing script as not found', async () => {
    const r = await runCheck({ kind: 'script', command: [join(dir, 'nope.sh')], timeoutMs: 2000 });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe(`not found: ${join(dir, 'nope.sh')} does not exist`);
  });
  it('reports a script without the execute bit as not executable', async () => {
    const path = script('noexec.sh', 'exit 0', 0o644);
    const r = await runCheck({ kind: 'script', command: [path], timeoutMs: 2000 });
    expect(r).toMatchObject({ ok: false, reason: `not executable: ${path} is not an executable file` });
  });
  it('reports a shell command that does not exist as not found', async () => {
    const r = await runCheck({ kind: 'script', command: 'vadc-no-such-command --x', timeoutMs: 2000 });
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^not found: .*vadc-no-such-command/);
  });
});

describe('checks of an IPv6 backend (issue 16), on ::1', () => {
  const V6 = '::1';
  const listen6 = (server: net.Server): Promise<number> =>
    new Promise((resolve) => server.listen(0, V6, () => resolve((server.address() as net.AddressInfo).port)));

  it('tcp connects and names the endpoint in brackets', async () => {
    const server = net.createServer((s) => s.end());
    const port = await listen6(server);
    const r = await runCheck({ kind: 'tcp', host: V6, port, timeoutMs: 1000 });
    server.close();
    expect(r).toMatchObject({ ok: true, reason: `connected to [::1]:${port}` });
  });

  it('http sends the Host header an IPv6 literal needs ([addr]:port, RFC 3986)', async () => {
    const hosts: string[] = [];
    const server = http.createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      res.end('ok');
    });
    const port = await listen6(server);
    const r = await runCheck({ kind: 'http', host: V6, port, path: '/', timeoutMs: 1000 });
    server.close();
    expect(r.ok).toBe(true);
    expect(hosts).toEqual([`[::1]:${port}`]);
  });

  it('udp sends from an IPv6 socket and reads the reply', async () => {
    const udp6 = dgram.createSocket('udp6');
    udp6.on('message', (msg, from) => udp6.send(Buffer.from(`echo:${msg.toString()}`), from.port, from.address));
    await new Promise<void>((r) => udp6.bind(0, V6, () => r()));
    const r = await runCheck({ kind: 'udp', host: V6, port: udp6.address().port, send: 'ping6', expect: 'echo:ping6', timeoutMs: 1000 });
    udp6.close();
    expect(r.ok).toBe(true);
  });
});
