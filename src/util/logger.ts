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

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? (process.stderr.isTTY ? 'text' : 'json');
  const level = opts.level ?? process.env.VADC_LOG_LEVEL ?? 'info';
  const stream = opts.stream ?? process.stderr;
  const text = winston.format.printf((info) => {
    const { level: lvl, message, timestamp, ...rest } = info as Record<string, unknown>;
    const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    return `${timestamp as string} ${lvl as string} ${String(message)}${extra}`;
  });
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      format === 'json' ? winston.format.json() : text,
    ),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** A logger that drops everything; for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
