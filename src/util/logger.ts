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
}

function lineFormat(format: 'json' | 'text'): winston.Logform.Format {
  const text = winston.format.printf((info) => {
    const { level: lvl, message, timestamp, ...rest } = info as Record<string, unknown>;
    const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    return `${timestamp as string} ${lvl as string} ${String(message)}${extra}`;
  });
  return winston.format.combine(winston.format.timestamp(), format === 'json' ? winston.format.json() : text);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? (process.stderr.isTTY ? 'text' : 'json');
  const level = opts.level ?? process.env.VADC_LOG_LEVEL ?? 'info';
  const stream = opts.stream ?? process.stderr;
  return winston.createLogger({ level, format: lineFormat(format), transports: [new winston.transports.Stream({ stream })] });
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

/** Changes a logger made by createLogger to these settings (once the configuration has been read). */
export function reconfigureLogger(logger: Logger, settings: { level: string; format?: 'json' | 'text' }): void {
  logger.level = settings.level;
  if (settings.format) logger.format = lineFormat(settings.format);
}

/** A logger that drops everything; for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
