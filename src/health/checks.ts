import dgram from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { matchWithin, REGEX_BUDGET_MS } from './bounded-match';
import { HealthSpecError } from './errors';
import { describeEnd, runProcess } from './process';
import type { CheckResult, CheckSpec, HttpCheckSpec, ScriptCheckSpec, StatusExpectation, TcpCheckSpec, UdpCheckSpec } from './types';
import { formatEndpoint } from '../net/endpoint';

/** Bytes of an HTTP body read for matching; a health page is small, and a huge one must not eat memory. */
const MAX_BODY_BYTES = 64 * 1024;
/** Characters of a target's answer kept in CheckResult.output. */
const MAX_OUTPUT_CHARS = 512;
const DEFAULT_STATUS: StatusExpectation = [{ from: 200, to: 299 }];

export type Checker = (spec: CheckSpec, signal?: AbortSignal) => Promise<CheckResult>;

/** Throws HealthSpecError for a spec no checker could run; called before any I/O. */
export function validateCheckSpec(spec: CheckSpec): void {
  if (!Number.isFinite(spec.timeoutMs) || spec.timeoutMs <= 0) throw new HealthSpecError('timeoutMs', `expected a positive number of ms, got ${spec.timeoutMs}`);
  if (spec.kind === 'script') {
    const empty = typeof spec.command === 'string' ? spec.command.trim() === '' : spec.command.length === 0;
    if (empty) throw new HealthSpecError('command', 'expected a command string or a non-empty argv list');
    return;
  }
  if (!spec.host) throw new HealthSpecError('host', 'expected a host address');
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) throw new HealthSpecError('port', `expected a port 1..65535, got ${spec.port}`);
  if (spec.sourceAddress !== undefined && net.isIP(spec.sourceAddress) === 0) {
    throw new HealthSpecError('sourceAddress', `expected an IP address, got "${spec.sourceAddress}"`);
  }
  if (spec.kind === 'http' || spec.kind === 'https') {
    if (spec.path !== undefined && !spec.path.startsWith('/')) throw new HealthSpecError('path', `expected an absolute path, got "${spec.path}"`);
    for (const s of spec.expectStatus ?? []) {
      const [from, to] = typeof s === 'number' ? [s, s] : [s.from, s.to];
      if (!(from >= 100 && to <= 599 && from <= to)) throw new HealthSpecError('expectStatus', `expected statuses within 100..599, got ${JSON.stringify(s)}`);
    }
  }
}

/** Runs any check. Bad specs throw HealthSpecError; a failing target gives ok: false. */
export const runCheck: Checker = (spec, signal) => {
  validateCheckSpec(spec);
  switch (spec.kind) {
    case 'tcp':
      return checkTcp(spec, signal);
    case 'http':
    case 'https':
      return checkHttp(spec, signal);
    case 'udp':
      return checkUdp(spec, signal);
    case 'script':
      return checkScript(spec, signal);
  }
};

/**
 * Shared frame of the network checkers: a deadline, the caller's abort, timing, and exactly one result.
 * `body` starts the I/O, calls `done` once with its verdict, and returns its cleanup.
 */
function networkCheck(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  body: (done: (ok: boolean, reason: string, output?: string) => void) => () => void,
): Promise<CheckResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let cleanup: () => void = () => undefined;
    const done = (ok: boolean, reason: string, output = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup();
      resolve({ ok, reason, output: output.slice(0, MAX_OUTPUT_CHARS), durationMs: Math.round(performance.now() - started) });
    };
    const onAbort = () => done(false, 'aborted');
    let extended = false;
    const onDeadline = () => {
      // The timer fired well after its time: this process was not running (a CPU-starved host, a long GC pause),
      // so the target had less of our attention than the timeout promises. Give it that time again, once.
      if (!extended && performance.now() - started - timeoutMs > timeoutMs / 2) {
        extended = true;
        timer = setTimeout(onDeadline, timeoutMs);
        return;
      }
      // Timers run before I/O callbacks: an answer that arrived while this timer waited is heard first.
      setImmediate(() => done(false, `timed out after ${timeoutMs} ms`));
    };
    let timer = setTimeout(onDeadline, timeoutMs);
    if (signal?.aborted) return done(false, 'aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = body(done);
    if (settled) cleanup();
  });
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    EADDRNOTAVAIL: 'source address not available',
  };
  return err.code && known[err.code] ? `${known[err.code]} (${err.code})` : err.message;
}

export function checkTcp(spec: TcpCheckSpec, signal?: AbortSignal): Promise<CheckResult> {
  return networkCheck(spec.timeoutMs, signal, (done) => {
    const socket = net.connect({ host: spec.host, port: spec.port, localAddress: spec.sourceAddress });
    socket.once('connect', () => done(true, `connected to ${formatEndpoint(spec.host, spec.port)}`));
    socket.once('error', (err) => done(false, describeSocketError(err)));
    return () => socket.destroy();
  });
}

export function statusAccepted(status: number, expected: StatusExpectation): boolean {
  return expected.some((s) => (typeof s === 'number' ? status === s : status >= s.from && status <= s.to));
}

function describeStatuses(expected: StatusExpectation): string {
  return expected.map((s) => (typeof s === 'number' ? String(s) : `${s.from}-${s.to}`)).join(',');
}

export function checkHttp(spec: HttpCheckSpec, signal?: AbortSignal): Promise<CheckResult> {
  const expected = spec.expectStatus?.length ? spec.expectStatus : DEFAULT_STATUS;
  return networkCheck(spec.timeoutMs, signal, (done) => {
    const options: https.RequestOptions = {
      host: spec.host,
      port: spec.port,
      path: spec.path ?? '/',
      method: 'GET',
      localAddress: spec.sourceAddress,
      headers: { host: spec.hostHeader ?? formatEndpoint(spec.host, spec.port), connection: 'close', 'user-agent': 'vadc-health' },
      agent: false,
    };
    const req =
      spec.kind === 'https'
        ? https.request({ ...options, rejectUnauthorized: spec.tlsVerify ?? false, servername: spec.hostHeader && !net.isIP(spec.hostHeader) ? spec.hostHeader : undefined })
        : http.request(options);
    req.once('error', (err) => done(false, describeSocketError(err)));
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      const judge = () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const output = `HTTP ${status} ${res.statusMessage ?? ''}\n${body}`;
        if (!statusAccepted(status, expected)) return done(false, `HTTP ${status} not in ${describeStatuses(expected)}`, output);
        const matched = spec.expectBody === undefined || bodyMatches(body, spec.expectBody);
        if (matched === 'timeout') return done(false, `HTTP ${status} but ${outOfTime('expect_body_match', spec.expectBody!, body, 'body')}`, output);
        if (!matched) return done(false, `HTTP ${status} but body does not match ${String(spec.expectBody)}`, output);
        done(true, `HTTP ${status}`, output);
      };
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(c.subarray(0, MAX_BODY_BYTES - size));
        size += c.length;
        if (size >= MAX_BODY_BYTES) judge();
      });
      res.once('end', judge);
      res.once('error', (err) => done(false, describeSocketError(err)));
    });
    req.end();
    return () => req.destroy();
  });
}

/** A substring test, or the pattern run within its time budget (bounded-match.ts). */
function bodyMatches(text: string, expect: string | RegExp): boolean | 'timeout' {
  return typeof expect === 'string' ? text.includes(expect) : matchWithin(expect, text);
}

function outOfTime(setting: string, pattern: string | RegExp, text: string, what: string): string {
  return `${setting} ${String(pattern)} did not finish within ${REGEX_BUDGET_MS} ms on a ${Buffer.byteLength(text)}-byte ${what} (the pattern backtracks too much: simplify it)`;
}

export function checkUdp(spec: UdpCheckSpec, signal?: AbortSignal): Promise<CheckResult> {
  return networkCheck(spec.timeoutMs, signal, (done) => {
    const socket = dgram.createSocket(net.isIPv6(spec.host) ? 'udp6' : 'udp4');
    socket.once('error', (err) => done(false, describeSocketError(err)));
    socket.on('message', (msg) => {
      const text = msg.toString('utf8');
      const matched = spec.expect === undefined || bodyMatches(text, spec.expect);
      if (matched === 'timeout') done(false, `reply: ${outOfTime('expect_match', spec.expect!, text, 'reply')}`, text);
      else if (matched) done(true, `reply of ${msg.length} bytes`, text);
      else done(false, `reply does not match ${String(spec.expect)}`, text);
    });
    // A connected socket only accepts replies from the target and reports ICMP port unreachable as ECONNREFUSED.
    socket.bind({ address: spec.sourceAddress, port: 0 }, () => {
      socket.connect(spec.port, spec.host, () => {
        socket.send(typeof spec.send === 'string' ? Buffer.from(spec.send) : spec.send, (err) => {
          if (err) done(false, describeSocketError(err));
        });
      });
    });
    return () => {
      try {
        socket.close();
      } catch {
        // Already closed by an error.
      }
    };
  });
}

export async function checkScript(spec: ScriptCheckSpec, signal?: AbortSignal): Promise<CheckResult> {
  const outcome = await runProcess({ command: spec.command, timeoutMs: spec.timeoutMs, env: spec.env, signal });
  const output = [outcome.stdout, outcome.stderr].filter(Boolean).join('\n').slice(0, MAX_OUTPUT_CHARS);
  const ok = outcome.end.kind === 'exited' && outcome.end.code === 0;
  return { ok, reason: describeEnd(outcome.end, spec.timeoutMs), output, durationMs: outcome.durationMs };
}
