import { Worker } from 'node:worker_threads';
import { workerEntry } from '../util/worker-entry';
import { ConfigError, type ConfigIssue } from './errors';
import { configSizeProblem, maxConfigBytes } from './limits';
import { parseConfig } from './load';
import type { VadcConfig } from './schema';

export interface OffThreadOptions {
  /** Default: maxConfigBytes() (VADC_MAX_CONFIG_BYTES). */
  maxBytes?: number;
  /** The worker is stopped after this long (default 30 s). */
  timeoutMs?: number;
  /** The worker's heap limit (default 512 MiB: a 1 MiB configuration needs ~250). */
  maxHeapMb?: number;
  /**
   * Texts up to this size are parsed at once on the calling thread (default 64 KiB, ~0.1 s of parsing): starting
   * a worker costs more than that, and small changes (a weight, a backend) should stay quick.
   */
  inlineUpToBytes?: number;
}

export const DEFAULT_INLINE_PARSE_BYTES = 64 * 1024;

type WorkerReply = { ok: true; config: VadcConfig } | { ok: false; issues?: ConfigIssue[]; crash?: string };

/**
 * parseConfig for a running daemon: a large configuration (PUT /v1/config, config apply) takes seconds of YAML
 * parsing, which on the main thread would stall every switch session (echo replies, packet-ins) for as long, so
 * texts over 64 KiB are parsed in a worker thread with a bounded heap and time. The same ConfigError comes back.
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
    const worker = new Worker(entry.filename, {
      execArgv: entry.execArgv, workerData: { text, source }, resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(() => settle(() => reject(fail(`not parsed within ${timeoutMs} ms; parsing stopped`))), timeoutMs);
    worker.once('message', (reply: WorkerReply) => settle(() => {
      if (reply.ok) resolve(reply.config);
      else if (reply.issues) reject(new ConfigError(source, reply.issues));
      else reject(fail(`parser failed: ${reply.crash ?? 'unknown error'}`));
    }));
    worker.once('error', (err: Error & { code?: string }) => settle(() => reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? fail(`parsing needed more than ${maxHeapMb} MiB of memory; parsing stopped`)
      : fail(`parser failed: ${err.message}`))));
    worker.once('exit', (code) => settle(() => reject(fail(`parser exited with code ${code} before answering`))));
  });
}
