// Steady streams from a lab client, for the outlier detection suites: a fresh HTTP connection to port 80 of the VIP,
// or a fresh UDP flow to a port of it, every 50 ms, each with its outcome recorded.
import type { Lab } from '../../src/lab';

export interface RequestOutcome {
  /** When the request started (ms since the epoch, the host's clock: namespaces share it). */
  at: number;
  ok: boolean;
  /** "vm1 8080" (HTTP) or "vm1" (the UDP echo's first word), or the error. */
  what: string;
}

export interface RequestStream {
  /** Resolves at the first answer: the client's Node takes a while to start in its namespace on a loaded machine. */
  answered: Promise<void>;
  /** Ends the stream once every request in flight is settled: each outcome in the order they started. */
  stop: () => Promise<RequestOutcome[]>;
}

/** A fresh connection to the VIP every 50 ms from a client, each with a 2 s timeout. */
export function requestEvery50ms(lab: Lab, client: string, vip: string): RequestStream {
  return every50ms(lab, client, `
      const req = http.get({ host: '${vip}', port: 80, path: '/', agent: false, timeout: 2000 }, (res) => {
        let body = ''; res.on('data', (c) => body += c); res.on('end', () => done(res.statusCode === 200, body.trim()));
        res.on('error', (e) => done(false, e.code || e.message));
      });
      req.on('timeout', () => { req.destroy(); done(false, 'timeout'); });
      req.on('error', (e) => done(false, e.code || e.message));`);
}

/**
 * A new UDP flow (a fresh socket, so a fresh source port) to vip:port every 50 ms: one datagram each, answered
 * within 1.5 s or failed ('no answer', or the socket's error: ECONNREFUSED for an ICMP port unreachable).
 */
export function udpFlowEvery50ms(lab: Lab, client: string, vip: string, port: number): RequestStream {
  return every50ms(lab, client, `
      const socket = dgram.createSocket('${vip.includes(':') ? 'udp6' : 'udp4'}');
      const timer = setTimeout(() => done(false, 'no answer'), 1500);
      const settle = (ok, what) => { clearTimeout(timer); try { socket.close(); } catch {} done(ok, what); };
      socket.on('message', (m) => settle(true, m.toString().split(' ')[0]));
      socket.on('error', (e) => settle(false, e.code || e.message));
      socket.connect(${port}, '${vip}', () => socket.send('hello'));`);
}

/** Runs `attempt` (script text that calls done(ok, what) once) every 50 ms in a Node process in the client's namespace. */
function every50ms(lab: Lab, client: string, attempt: string): RequestStream {
  const script = `
    const http = require('http'); const dgram = require('dgram');
    const outcomes = []; let pending = 0; let stopping = false; let announced = false;
    const finish = () => { if (stopping && pending === 0) process.stdout.write(JSON.stringify(outcomes) + '\\n', () => process.exit(0)); };
    const tick = () => {
      const slot = { at: Date.now(), ok: false, what: 'pending' }; outcomes.push(slot); pending++;
      const done = (ok, what) => {
        if (slot.what !== 'pending') return;
        slot.ok = ok; slot.what = what; pending--;
        if (ok && !announced) { announced = true; console.error('answered'); }
        finish();
      };
      ${attempt}
    };
    const timer = setInterval(tick, 50);
    process.on('SIGTERM', () => { clearInterval(timer); stopping = true; finish(); });`;
  const child = lab.spawn(client, ['node', '-e', script]);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const answered = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      if (c.toString().includes('answered')) resolve();
    });
    child.once('exit', () => reject(new Error('the request stream ended before its first answer')));
  });
  answered.catch(() => undefined);
  return {
    answered,
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out) as RequestOutcome[];
    },
  };
}
