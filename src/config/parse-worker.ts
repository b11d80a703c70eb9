/** Child process body of parseConfigOffThread: parses one configuration and sends back the result or its issues. */
import { ConfigError } from './errors';
import { parseConfig } from './load';

process.once('message', (request: { text: string; source: string }) => {
  let reply: unknown;
  try {
    reply = { ok: true, config: parseConfig(request.text, request.source) };
  } catch (err) {
    reply = err instanceof ConfigError ? { ok: false, issues: err.issues } : { ok: false, crash: (err as Error).message };
  }
  process.send!(reply, () => process.disconnect());
});
