/** Worker thread body of parseConfigOffThread: parses one configuration and posts the result or its issues. */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from './errors';
import { parseConfig } from './load';

const { text, source } = workerData as { text: string; source: string };
try {
  parentPort!.postMessage({ ok: true, config: parseConfig(text, source) });
} catch (err) {
  if (err instanceof ConfigError) parentPort!.postMessage({ ok: false, issues: err.issues });
  else parentPort!.postMessage({ ok: false, crash: (err as Error).message });
}
