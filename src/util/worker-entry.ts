import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a helper script run apart from the main thread is (the configuration parser's child process): the compiled
 * `.js` beside the caller (dist/), or, when vadc runs from its TypeScript sources (the unit tests), the `.ts` file with
 * the transpiler the sources run under.
 */
export function workerEntry(dir: string, base: string): { filename: string; execArgv: string[] } {
  const js = path.join(dir, `${base}.js`);
  if (existsSync(js)) return { filename: js, execArgv: [] };
  return { filename: path.join(dir, `${base}.ts`), execArgv: ['-r', 'ts-node/register/transpile-only'] };
}
