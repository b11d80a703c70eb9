// The base of every vadc command: shared flags (--json, --log-level), a logger, a table printer, and errors
// on stderr with a stable code: one line for people, one JSON object with --json; exit 2 for usage mistakes
// (bad flag, argument or command), 1 for a failed operation.
import { Command, Flags, Interfaces } from '@oclif/core';
import { DaemonUnreachableError } from '../api/errors';
import { createLogger, Logger } from '../util/logger';
import { Column, formatTable } from './table';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

/** Exit code for usage mistakes (bad flag or argument), as distinct from a failed operation (1). */
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

interface CodedError {
  message: string;
  code?: unknown;
  oclif?: { exit?: number };
}

/** A flag or argument the parser refused: exit 2 like oclif's own flag errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
  readonly oclif = { exit: EXIT_USAGE };
}

/**
 * The one line a person sees for an error, its exit code and a stable code for scripts (`usage`,
 * `daemon_unreachable`, the API's codes such as `not_found`, a lab's codes, else `failed`); pure so it is unit-tested.
 */
export function describeError(err: unknown): { line: string; exitCode: number; code: string; message: string } {
  const coded = (err ?? {}) as CodedError;
  const text = (typeof coded.message === 'string' && coded.message) || String(err);
  // One line: oclif's parser puts the reason on a second, indented line.
  const message = text.split('\n').map((line) => line.trim()).filter(Boolean).join(': ') || 'unknown error';
  // oclif's parser errors carry oclif.exit = 2.
  const exitCode = coded.oclif?.exit === EXIT_USAGE ? EXIT_USAGE : EXIT_FAILURE;
  const code = err instanceof DaemonUnreachableError ? 'daemon_unreachable'
    : typeof coded.code === 'string' && /^[a-z][a-z0-9_-]*$/.test(coded.code) ? coded.code
      : exitCode === EXIT_USAGE ? 'usage' : 'failed';
  return { line: `Error: ${message}`, exitCode, code, message };
}
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    'log-level': Flags.option({ options: LOG_LEVELS, default: 'warn' as const, description: 'log detail on stderr', helpGroup: 'GLOBAL' })(),
  };

  protected flags!: BaseFlags<T>;
  protected logger!: Logger;

  public override async init(): Promise<void> {
    await super.init();
    let parsed;
    try {
      parsed = await this.parse({
        flags: this.ctor.flags,
        baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
        enableJsonFlag: this.ctor.enableJsonFlag,
        args: this.ctor.args,
        strict: this.ctor.strict,
      });
    } catch (err) {
      // Every parse failure is the caller's mistake (an argument's own parser throws plain errors).
      const { message } = describeError(err);
      throw new UsageError(`${message}${/--help/.test(message) ? '' : ` (see ${this.config.bin} ${this.id?.replace(/:/g, ' ') ?? ''} --help)`}`);
    }
    this.flags = parsed.flags as BaseFlags<T>;
    this.logger = createLogger({ level: this.flags['log-level'] });
  }

  /** Prints rows for people; with --json nothing is printed here (the command returns the data instead). */
  protected table<Row>(rows: readonly Row[], columns: ReadonlyArray<Column<Row>>): void {
    this.log(formatTable(rows, columns));
  }

  /** Errors always go to stderr: one line, or with --json one JSON object `{"error": {"code", "message"}}`. */
  protected override async catch(err: Error & { exitCode?: number }): Promise<void> {
    const { line, exitCode, code, message } = describeError(err);
    process.exitCode = exitCode;
    if (this.jsonEnabled()) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
    else process.stderr.write(`${line}\n`);
  }
}
