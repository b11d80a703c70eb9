import { fork } from 'node:child_process';
import { workerEntry } from '../util/worker-entry';
import { ConfigError, type ConfigIssue } from './errors';
import { configSizeProblem, maxConfigBytes } from './limits';
import { parseConfig } from './load';
import type { VadcConfig } from './schema';

export interface OffThreadOptions {
  /** Default: maxConfigBytes() (VADC_MAX_CONFIG_BYTES). */
  maxBytes?: number;
  /** The parser is stopped after this long (default 30 s). */
  timeoutMs?: number;
  /** The parser's heap limit (default 512 MiB: a 1 MiB configuration needs ~250). */
  maxHeapMb?: number;
  /**
   * Texts up to this size are parsed at once on the calling thread (default 64 KiB, ~0.1 s of parsing): starting
   * the parser's process costs more than that, and small changes (a weight, a backend) should stay quick.
   */
  inlineUpToBytes?: number;
}

export const DEFAULT_INLINE_PARSE_BYTES = 64 * 1024;

type ParserReply = { ok: true; config: VadcConfig } | { ok: false; issues?: ConfigIssue[]; crash?: string };

/** What the parser's stderr is kept of: enough for V8's out-of-memory report. */
const STDERR_KEPT_BYTES = 4096;

/**
 * parseConfig for a running daemon: a large configuration (PUT /v1/config, config apply) takes seconds of YAML
 * parsing, which on the main thread would stall every switch session (echo replies, packet-ins) for as long, so
 * texts over 64 KiB are parsed in a child process with a bounded heap and time. The same ConfigError comes back.
 * A process, not a worker thread: a worker's heap limit is best-effort, and a worker reaching it can abort the whole
 * process instead (Node issue 47224; seen here on Node 24: FATAL ERROR CALL_AND_RETRY_LAST from an 8 MiB worker in
 * the unit suite), which would take the daemon down on a large PUT /v1/config.
 */
export function parseConfigOffThread(text: string, source: string, opts: OffThreadOptions = {}): Promise<VadcConfig> {
  const bytes = Buffer.byteLength(text);
  const tooBig = configSizeProblem(bytes, source, opts.maxBytes ?? maxConfigBytes());
  if (tooBig) return Promise.reject(tooBig);
  if (bytes <= (opts.inlineUpToBytes ?? DEFAULT_INLINE_PARSE_BYTES)) {
    try {
      return Promise.resolve(parseConfig(text, source));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxHeapMb = opts.maxHeapMb ?? 512;
  const fail = (message: string) => new ConfigError(source, [{ path: '', message }]);
  return new Promise((resolve, reject) => {
    const entry = workerEntry(__dirname, 'parse-worker');
    const child = fork(entry.filename, [], {
      execArgv: [...entry.execArgv, `--max-old-space-size=${maxHeapMb}`], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_KEPT_BYTES) stderr += chunk.toString('utf8', 0, STDERR_KEPT_BYTES - stderr.length);
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      fn();
    };
    const timer = setTimeout(() => settle(() => reject(fail(`not parsed within ${timeoutMs} ms; parsing stopped`))), timeoutMs);
    child.once('message', (reply: ParserReply) => settle(() => {
      if (reply.ok) resolve(reply.config);
      else if (reply.issues) reject(new ConfigError(source, reply.issues));
      else reject(fail(`parser failed: ${reply.crash ?? 'unknown error'}`));
    }));
    child.once('error', (err: Error) => settle(() => reject(fail(`parser failed: ${err.message}`))));
    child.once('exit', (code, signal) => {
      // V8 reports a heap over --max-old-space-size on stderr and aborts; wait for stderr's end to read it.
      const judge = () => settle(() => reject(/heap out of memory|Allocation failed/.test(stderr)
        ? fail(`parsing needed more than ${maxHeapMb} MiB of memory; parsing stopped`)
        : fail(`parser exited with ${signal ? `signal ${signal}` : `code ${code}`} before answering`)));
      if (child.stderr && !child.stderr.readableEnded) child.stderr.once('end', judge);
      else judge();
    });
    child.send({ text, source });
  });
}
