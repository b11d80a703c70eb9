// The base of every vadc command: shared flags (--json, --config, --log-level), a logger, a table
// printer, and errors as one line on stderr with a non-zero exit code.
import { Command, Flags, Interfaces } from '@oclif/core';
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

/** The one line a person sees for an error, and the exit code; pure so it is unit-tested. */
export function describeError(err: unknown): { line: string; exitCode: number; code?: string } {
  const coded = (err ?? {}) as CodedError;
  const message = (typeof coded.message === 'string' && coded.message) || String(err);
  // One line: oclif's parser puts the reason on a second, indented line.
  const oneLine = message.split('\n').map((line) => line.trim()).filter(Boolean).join(': ') || 'unknown error';
  const code = typeof coded.code === 'string' ? coded.code : undefined;
  // oclif's parser errors carry oclif.exit = 2.
  const exitCode = coded.oclif?.exit === EXIT_USAGE ? EXIT_USAGE : EXIT_FAILURE;
  return { line: `Error: ${oneLine}`, exitCode, code };
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    config: Flags.file({ description: 'vadc configuration file (YAML)', exists: true, helpGroup: 'GLOBAL' }),
    'log-level': Flags.option({ options: LOG_LEVELS, default: 'warn' as const, description: 'log detail on stderr', helpGroup: 'GLOBAL' })(),
  };

  protected flags!: BaseFlags<T>;
  protected logger!: Logger;

  public override async init(): Promise<void> {
    await super.init();
    const { flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as BaseFlags<T>;
    this.logger = createLogger({ level: this.flags['log-level'] });
  }

  /** Prints rows for people; with --json nothing is printed here (the command returns the data instead). */
  protected table<Row>(rows: readonly Row[], columns: ReadonlyArray<Column<Row>>): void {
    this.log(formatTable(rows, columns));
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<void> {
    const { line, exitCode, code } = describeError(err);
    process.exitCode = exitCode;
    if (this.jsonEnabled()) this.logJson({ error: { message: err.message, code: code ?? null } });
    else process.stderr.write(`${line}\n`);
  }
}
