// One connection of an OVSDB session (client.ts): the stream to one remote and the JSON-RPC session over it, what the
// session learnt of the member there, and why the session dropped it. The session's handshake makes it live.
import type { Logger } from '../util/logger';
import type { OvsdbClientOptions } from './client-types';
import { OvsdbError, OvsdbProtocolError } from './errors';
import { JsonRpcSession } from './jsonrpc';
import type { LiveMonitor, MethodSupport } from './live-monitor';
import type { ServerDbInfo } from './server-db';
import { OvsdbTarget, openStream } from './transport';

export interface Connection {
  rpc: JsonRpcSession;
  target: OvsdbTarget;
  support: MethodSupport;
  live: boolean;
  since: number;
  /** The `_Server` monitor and the member's row in it. */
  monitor?: LiveMonitor;
  member?: ServerDbInfo;
  /** Why we closed it, reported when its close event arrives. */
  dropError?: OvsdbError;
  closed: Promise<OvsdbError | undefined>;
}

/** What a connection tells its session: the server's notifications, and its close (with why, if known). */
export interface ConnectionEvents {
  notification(conn: Connection, method: string, params: unknown[]): void;
  closed(conn: Connection, error: OvsdbError | undefined): void;
}

/** Opens a connection to `target` (not live yet); `signal` aborts the connect. */
export async function openConnection(
  target: OvsdbTarget, opts: OvsdbClientOptions, logger: Logger, signal: AbortSignal, events: ConnectionEvents,
): Promise<Connection> {
  const stream = await openStream(target, opts.tls, opts.connectTimeoutMs ?? 10_000, signal);
  const rpc = new JsonRpcSession(stream, { ...opts, logger });
  let closedWith!: (error: OvsdbError | undefined) => void;
  const conn: Connection = {
    rpc, target, support: {}, live: false, since: Date.now(),
    closed: new Promise((resolve) => (closedWith = resolve)),
  };
  rpc.on('notification', (method, params) => events.notification(conn, method, params));
  rpc.on('close', (error) => {
    closedWith(error ?? conn.dropError);
    events.closed(conn, error ?? conn.dropError);
  });
  return conn;
}

/** Closes `conn` because of `err` (what its close then reports), unless it is closed already. */
export function dropConnection(conn: Connection, err: unknown, logger: Logger): void {
  if (conn.rpc.closed) return;
  const error = toOvsdbError(err);
  conn.dropError = error;
  logger.warn('ovsdb: dropping connection', { remote: conn.target.text, error: error.message });
  conn.rpc.close(error.message);
}

export const toOvsdbError = (err: unknown): OvsdbError => (err instanceof OvsdbError ? err : new OvsdbProtocolError(String(err)));
