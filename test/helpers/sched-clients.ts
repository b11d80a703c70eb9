// Client programs for the scheduler end-to-end tests, run inside the lab's client namespaces:
// connections held open on command (so connection counts are real and known), batches of fresh
// requests from chosen source addresses to chosen destinations, and a closed-loop load generator.
// Every answer body is "VM PORT" (the lab's HTTP server), so each result names the backend that served.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Lab } from '../../src/lab';

/** Served by: the VM name and the software port, parsed from the lab server's answer. */
export interface Served {
  vm: string;
  port: number;
}

export function parseServed(body: string): Served {
  const match = /^(\S+) (\d+)$/.exec(body.trim());
  if (!match) throw new Error(`not an answer of the lab's HTTP server: ${JSON.stringify(body)}`);
  return { vm: match[1], port: Number(match[2]) };
}

// One JSON command per stdin line, one JSON answer per stdout line (same id). Raw sockets so that the
// connection stays exactly one TCP connection for its whole life, and closing it is a real FIN.
const HOLDER = `'use strict';
const net = require('node:net');
const sockets = new Map();
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
function get(id, socket, host) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const length = Number((/content-length: *(\\d+)/i.exec(buf.slice(0, end)) || [])[1]);
      if (buf.length < end + 4 + length) return;
      socket.off('data', onData); socket.off('error', reject);
      resolve(buf.slice(end + 4, end + 4 + length));
    };
    socket.on('data', onData); socket.once('error', reject);
    socket.write('GET / HTTP/1.1\\r\\nHost: ' + host + '\\r\\n\\r\\n');
  });
}
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  const fail = (err) => say({ id: cmd.id, error: err.message || String(err) });
  if (cmd.op === 'open') {
    const socket = net.connect({ host: cmd.host, port: cmd.port, localAddress: cmd.localAddress, localPort: cmd.localPort });
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.off('error', fail);
      sockets.set(cmd.id, { socket, host: cmd.host });
      get(cmd.id, socket, cmd.host).then((body) => { socket.setTimeout(0); say({ id: cmd.id, body, localPort: socket.localPort }); }, fail);
    });
  } else if (cmd.op === 'get') {
    const held = sockets.get(cmd.id);
    get(cmd.id, held.socket, held.host).then((body) => say({ id: cmd.id, body }), fail);
  } else if (cmd.op === 'halfclose') {
    // A request the server answers holdMs later, then our FIN (shutdown(SHUT_WR)); the answer and the server's FIN
    // come later. Answered once the FIN is sent.
    const held = sockets.get(cmd.id);
    held.socket.on('error', () => {});
    held.socket.write('GET /hold/' + cmd.holdMs + ' HTTP/1.1\\r\\nHost: ' + held.host + '\\r\\n\\r\\n');
    held.socket.end(() => say({ id: cmd.id, closed: false }));
  } else if (cmd.op === 'close') {
    const held = sockets.get(cmd.id);
    held.socket.once('close', () => { sockets.delete(cmd.id); say({ id: cmd.id, closed: true }); });
    held.socket.end();
  }
});
`;

export interface HeldConnection extends Served {
  id: number;
  /** Where it was opened to (the VIP or an address of the VIP prefix). */
  host: string;
  localPort: number;
}

interface HolderAnswer {
  id: number;
  body?: string;
  localPort?: number;
  closed?: boolean;
  error?: string;
}

/** A process in a client namespace that opens, uses and closes TCP connections when told to. */
export class ConnectionHolder {
  private readonly waiting = new Map<number, (answer: HolderAnswer) => void>();
  private nextId = 1;
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams, readonly client: string) {
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const answer = JSON.parse(pending.slice(0, nl)) as HolderAnswer;
        pending = pending.slice(nl + 1);
        this.waiting.get(answer.id)?.(answer);
        this.waiting.delete(answer.id);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    child.on('exit', () => {
      for (const [id, settle] of this.waiting) settle({ id, error: `holder exited: ${this.stderr.trim()}` });
      this.waiting.clear();
    });
  }

  static start(lab: Lab, client: string): ConnectionHolder {
    const child = spawn('ip', ['netns', 'exec', lab.host(client).netns, 'node', '-e', HOLDER], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new ConnectionHolder(child, client);
  }

  /** Opens a connection to host:port and GETs once on it; resolves with the backend that answered. */
  async open(host: string, port = 80, localAddress?: string, localPort?: number): Promise<HeldConnection> {
    const id = this.nextId++;
    const answer = await this.ask({ op: 'open', id, host, port, localAddress, localPort });
    return { id, host, localPort: answer.localPort!, ...parseServed(answer.body!) };
  }

  /** Another request on an already open connection (it must still reach the same backend). */
  async request(held: HeldConnection): Promise<Served> {
    return parseServed((await this.ask({ op: 'get', id: held.id })).body!);
  }

  /**
   * Half-closes a held connection as a client that has sent its last request: a GET that the lab's server answers
   * `holdMs` later, then the client's FIN (shutdown(SHUT_WR)). Resolves once the FIN is sent; the backend keeps its
   * side open until it answers, then closes it.
   */
  async halfClose(held: HeldConnection, holdMs: number): Promise<void> {
    await this.ask({ op: 'halfclose', id: held.id, holdMs });
  }

  /** Closes with a FIN and waits until the socket is fully closed. */
  async close(held: HeldConnection): Promise<void> {
    await this.ask({ op: 'close', id: held.id });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  private ask(cmd: { op: string; id: number } & Record<string, unknown>): Promise<HolderAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting.set(cmd.id, (answer) => (answer.error ? reject(new Error(`${this.client} ${cmd.op} #${cmd.id}: ${answer.error}`)) : resolve(answer)));
      this.child.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }
}

/** One fresh connection per target, one after the other; the answers in the same order. */
const BATCH = `'use strict';
const http = require('node:http');
const targets = JSON.parse(process.argv[1]);
(async () => {
  const out = [];
  for (const t of targets) {
    out.push(await new Promise((resolve, reject) => {
      const req = http.get({ host: t.host, port: t.port, path: '/', localAddress: t.localAddress, localPort: t.localPort, agent: false, timeout: 5000 }, (res) => {
        let body = ''; res.setEncoding('utf8'); res.on('data', (d) => (body += d)); res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s from ' + t.host)));
      req.on('error', reject);
    }));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { process.stderr.write(err.message + '\\n'); process.exit(2); });
`;

export interface Target {
  host: string;
  port?: number;
  localAddress?: string;
  /** The client's source port (a connection that reuses one, e.g. against the backend's TIME_WAIT). */
  localPort?: number;
}

/**
 * For a request that got no answer (a rare CI failure that does not reproduce alone): the switch's flows for that
 * address and the client's sockets, so the report says where the packets stopped.
 */
async function whatTheSwitchHad(lab: Lab, client: string, stderr: string): Promise<string> {
  const host = /from (\S+)$/m.exec(stderr.trim())?.[1];
  const flows = await lab.ofctl('dump-flows').catch((err: Error) => `dump-flows failed: ${err.message}`);
  const sockets = await lab.exec(client, ['ss', '-tan']).then((r) => r.stdout, (err: Error) => err.message);
  const clientIp = lab.host(client).ip;
  const relevant = flows.split('\n').filter((l) => (host && l.includes(host)) || l.includes(clientIp) || /table=0,.*priority=0|n_packets=0, .*actions=CONTROLLER/.test(l));
  return `switch flows for ${host ?? '?'} or ${clientIp} (${relevant.length}):\n${relevant.slice(0, 60).join('\n')}\n${client} sockets:\n${sockets.split('\n').slice(0, 40).join('\n')}`;
}

export async function requestEach(lab: Lab, client: string, targets: readonly Target[]): Promise<Served[]> {
  const argv = JSON.stringify(targets.map((t) => ({ port: 80, ...t })));
  const result = await lab.exec(client, ['node', '-e', BATCH, argv], { timeoutMs: 10_000 + targets.length * 5000 });
  if (result.code !== 0) throw new Error(`requests from ${client} failed: ${result.stderr.trim()}\n${await whatTheSwitchHad(lab, client, result.stderr)}`);
  return (JSON.parse(result.stdout) as string[]).map(parseServed);
}

/** Closed loop: `concurrency` workers each send fresh-connection requests back to back for `durationMs`. */
const LOAD = `'use strict';
const http = require('node:http');
const [host, port, concurrency, durationMs] = process.argv.slice(1);
const counts = {}; const slowConnects = {}; let failed = 0; const until = Date.now() + Number(durationMs);
const one = () => new Promise((resolve) => {
  const start = Date.now(); let connectMs = 0;
  const req = http.get({ host, port: Number(port), path: '/', agent: false, timeout: 5000 }, (res) => {
    let body = ''; res.setEncoding('utf8'); res.on('data', (d) => (body += d));
    res.on('end', () => {
      const vm = body.split(' ')[0]; counts[vm] = (counts[vm] || 0) + 1;
      if (connectMs > 900) slowConnects[vm] = (slowConnects[vm] || 0) + 1;
      resolve();
    });
  });
  req.on('socket', (s) => s.on('connect', () => (connectMs = Date.now() - start)));
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { failed++; resolve(); });
});
const worker = async () => { while (Date.now() < until) await one(); };
Promise.all(Array.from({ length: Number(concurrency) }, worker)).then(() => process.stdout.write(JSON.stringify({ counts, slowConnects, failed })));
`;

export interface LoadResult {
  /** Completed requests per VM. */
  counts: Record<string, number>;
  /** Of those, the ones whose TCP connect took over 0.9 s (a lost SYN or SYN-ACK retried after 1 s), per VM. */
  slowConnects: Record<string, number>;
  failed: number;
}

export async function closedLoopLoad(lab: Lab, client: string, host: string, concurrency: number, durationMs: number): Promise<LoadResult> {
  const argv = ['node', '-e', LOAD, host, '80', String(concurrency), String(durationMs)];
  const result = await lab.exec(client, argv, { timeoutMs: durationMs + 15_000 });
  if (result.code !== 0) throw new Error(`load from ${client} failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as LoadResult;
}
