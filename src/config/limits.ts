import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from './errors';

/**
 * The largest configuration vadc reads (file, state file, PUT /v1/config): parsing YAML takes ~100-250 times the
 * text's size in memory and ~1.5 s of CPU per MiB (measured here), so an unbounded file is an unbounded cost.
 * 1 MiB holds ~1,000 services of 10 backends. VADC_MAX_CONFIG_BYTES changes it (docs/operators/resource-caps.md).
 */
export const DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024;

export function maxConfigBytes(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.VADC_MAX_CONFIG_BYTES;
  if (text === undefined || text === '') return DEFAULT_MAX_CONFIG_BYTES;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1024) {
    throw new ConfigError('VADC_MAX_CONFIG_BYTES', [{ path: '', message: `expected a whole number of bytes >= 1024, got ${JSON.stringify(text)}` }]);
  }
  return value;
}

/** The error for a configuration over the limit, or undefined. */
export function configSizeProblem(bytes: number, source: string, limit = maxConfigBytes()): ConfigError | undefined {
  if (bytes <= limit) return undefined;
  return new ConfigError(source, [{ path: '', message: `${bytes} bytes is over the ${limit}-byte limit for a configuration (VADC_MAX_CONFIG_BYTES)` }]);
}

function unreadable(file: string, err: unknown): ConfigError {
  return new ConfigError(file, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
}

/** Reads a configuration file after checking its size, so an oversized one is refused before it is read. */
export async function readConfigFile(file: string, limit = maxConfigBytes()): Promise<string> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw unreadable(file, err);
  }
  const tooBig = configSizeProblem(size, file, limit);
  if (tooBig) throw tooBig;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
}

/** The same, synchronously (daemon start). */
export function readConfigFileSync(file: string, limit = maxConfigBytes()): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw unreadable(file, err);
  }
  const tooBig = configSizeProblem(size, file, limit);
  if (tooBig) throw tooBig;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
}
