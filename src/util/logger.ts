import { fstatSync } from 'node:fs';
import winston from 'winston';

/** Fields every vadc log event may carry, so logs can be filtered per service, backend or switch. */
export interface LogContext {
  service?: string;
  backend?: string;
  dpid?: string;
  [key: string]: unknown;
}

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  /** 'json' for daemons and log shippers, 'text' for people at a terminal. Default: text on a TTY. */
  format?: 'json' | 'text';
  /** Where to write; default stderr, so stdout stays clean for `--json` output. */
  stream?: NodeJS.WritableStream;
  /**
   * Prefix each line with its syslog priority (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug), which journald
   * reads and strips. Default: when stderr is the journal stream systemd named in JOURNAL_STREAM.
   */
  journal?: boolean;
}

/** syslog priorities journald understands in a `<N>` line prefix. */
export const JOURNAL_PRIORITY: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** True when JOURNAL_STREAM ("DEVICE:INODE") names the file descriptor: the process logs straight to journald. */
export function isJournalStream(journalStream: string | undefined, fd = 2): boolean {
  const m = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]) && st.ino === BigInt(m[2]);
  } catch {
    return false;
  }
}

function lineFormat(format: 'json' | 'text', journal: boolean): winston.Logform.Format {
  const text = winston.format.printf((info) => {
    const { level: lvl, message, timestamp, ...rest } = info as Record<string, unknown>;
    const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    return `${timestamp as string} ${lvl as string} ${String(message)}${extra}`;
  });
  const priority = winston.format((info) => {
    const key = Symbol.for('message');
    const line = (info as unknown as Record<symbol, unknown>)[key];
    if (typeof line === 'string') (info as unknown as Record<symbol, unknown>)[key] = `<${JOURNAL_PRIORITY[info.level] ?? 6}>${line}`;
    return info;
  });
  return winston.format.combine(winston.format.timestamp(), format === 'json' ? winston.format.json() : text, ...(journal ? [priority()] : []));
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? (process.stderr.isTTY ? 'text' : 'json');
  const level = opts.level ?? process.env.VADC_LOG_LEVEL ?? 'info';
  const stream = opts.stream ?? process.stderr;
  const journal = opts.journal ?? (opts.stream === undefined && isJournalStream(process.env.JOURNAL_STREAM));
  return winston.createLogger({ level, format: lineFormat(format, journal), transports: [new winston.transports.Stream({ stream })] });
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * The daemon's log level and format: the command line's flags, else VADC_LOG_LEVEL, else the configuration's
 * `log:` section, else info (and text on a terminal, JSON otherwise).
 */
export function daemonLogSettings(
  flags: { level?: LogLevel; format?: 'json' | 'text' },
  config: { level?: LogLevel; format?: 'json' | 'text' } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { level: string; format?: 'json' | 'text' } {
  return { level: flags.level ?? env.VADC_LOG_LEVEL ?? config?.level ?? 'info', format: flags.format ?? config?.format };
}

/** Changes a logger made by createLogger (on stderr) to these settings (once the configuration has been read). */
export function reconfigureLogger(logger: Logger, settings: { level: string; format?: 'json' | 'text' }): void {
  logger.level = settings.level;
  if (settings.format) logger.format = lineFormat(settings.format, isJournalStream(process.env.JOURNAL_STREAM));
}

/** A logger that drops everything; for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
