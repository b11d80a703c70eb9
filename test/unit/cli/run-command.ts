import path from 'node:path';
import { format } from 'node:util';
import { Config } from '@oclif/core';

/** Any vadc command class (oclif's static run). */
interface RunnableCommand {
  run(argv?: string[], opts?: Config): Promise<unknown>;
}

const ROOT = path.resolve(__dirname, '../../..');

/*
 * Test files must also declare, before anything loads @oclif/core:
 *   jest.mock('../../../node_modules/@oclif/core/lib/util/os', () => ({ ...jest.requireActual('../../../node_modules/@oclif/core/lib/util/os'), getPlatform: async () => 'linux' }));
 * oclif detects WSL with a dynamic import() that jest cannot run without --experimental-vm-modules.
 */
let config: Promise<Config> | undefined;

/**
 * One oclif Config for all runs; loaded outside the capture so its one-time warnings do not pollute output.
 * Loading requires every command (seconds on a loaded machine): test files call it in beforeAll, with room.
 */
export function loadConfig(): Promise<Config> {
  config ??= Config.load(ROOT);
  return config;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** What run() returned (the --json payload). */
  result: unknown;
}

/** Runs an oclif command class in-process, capturing stdout/stderr and the exit code it sets. */
export async function runCommand(cmd: RunnableCommand, argv: string[]): Promise<CommandResult> {
  const loaded = await loadConfig();
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    // Node's process warnings are emitted a tick late, so they land in whichever command runs next; they are
    // not that command's output. (oclif's UnparsedCommand warning after a parse error: reported to the lead.)
    if (!/^\(node:\d+\) |^\(Use `node --trace-warnings/.test(chunk.toString())) stderr += chunk.toString();
    return true;
  });
  // oclif prints through console.log/console.error; the base command's errors go to process.stderr directly.
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    stdout += format(...args) + '\n';
  });
  const error = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    stderr += format(...args) + '\n';
  });
  const before = process.exitCode;
  process.exitCode = undefined;
  let result: unknown;
  let exitCode = 0;
  try {
    result = await cmd.run(argv, loaded);
  } catch (e) {
    // oclif throws for parse errors before the command's catch; treat like the CLI's handler would.
    const oclif = (e as { oclif?: { exit?: number } }).oclif;
    stderr += `Error: ${(e as Error).message.split('\n')[0]}\n`;
    exitCode = oclif?.exit ?? 1;
  } finally {
    out.mockRestore();
    err.mockRestore();
    log.mockRestore();
    error.mockRestore();
  }
  exitCode = exitCode || Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { stdout, stderr, exitCode, result };
}
