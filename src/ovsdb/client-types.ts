/**
 * The public shapes of OvsdbClient: its options, states, events and monitor handles.
 */
import type { Logger } from '../util/logger';
import type { OvsdbError } from './errors';
import type { JsonRpcOptions } from './jsonrpc';
import type { MonitorStats } from './live-monitor';
import type { LogPosition } from './member-watch';
import type { Row } from './notation';
import type { ServerDbInfo } from './server-db';
import type { TlsFiles } from './transport';

export interface OvsdbClientOptions extends JsonRpcOptions {
  /**
   * The database this session is for: its `_Server` row decides whether a member is usable. Without it
   * no `_Server` check is made (any server that answers is used).
   */
  database?: string;
  /** Use only the Raft leader (needed for locks; writes then skip the follower's forwarding). Default false. */
  leaderOnly?: boolean;
  /**
   * Where a previous run got to in the cluster's log (`client.logPosition`, saved with what it read): members
   * of that cluster behind it are refused from the first connection on. Ignored for another cluster id.
   */
  logPosition?: LogPosition;
  /**
   * How long a member that is in its cluster but behind the index already seen is waited for, on its
   * connection, before the next remote is tried (5000 ms; 0: refuse at once, as OVS's clients do). Also how long,
   * from the first member that answered a monitor's resume with found=false, members keep being asked to resume
   * before one is reloaded from.
   */
  catchUpMs?: number;
  tls?: TlsFiles;
  /** TCP/TLS/unix connect timeout per attempt (10 s). */
  connectTimeoutMs?: number;
  /** Timeout of each handshake request: get_schema, the `_Server` monitor, monitors, locks (30 s). */
  handshakeTimeoutMs?: number;
  /** Reconnect after a usable connection drops (default true). */
  reconnect?: boolean;
  /** Pause after a failed round of remotes: backoffInitialMs (500) doubling to backoffMaxMs (8000), +-backoffJitter (0.25). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  backoffJitter?: number;
  /** Try the remotes in a random order (as OVS clients do by default), so clients spread over members. Default false. */
  shuffleRemotes?: boolean;
  /** Source of randomness for jitter and shuffling (tests). */
  random?: () => number;
  logger?: Logger;
}

export type SessionState =
  | { kind: 'connecting'; remote: string; since: number; failedRounds: number; lastError?: string }
  | { kind: 'connected'; remote: string; since: number; member?: ServerDbInfo }
  | { kind: 'backoff'; since: number; retryAt: number; failedRounds: number; lastError: string }
  | { kind: 'closed'; since: number; lastError?: string };

export interface ConnectedInfo {
  remote: string;
  /** The member's `_Server` row (absent without `database`, or on servers without `_Server`). */
  member?: ServerDbInfo;
  /** Monitors resumed from their last transaction (no full reload) and fully (re)loaded on this connection. */
  resumed: number;
  reloaded: number;
}

export interface MonitorHandle {
  readonly id: string;
  readonly db: string;
  rows(table: string): ReadonlyMap<string, Row>;
  stats(): Readonly<MonitorStats>;
  cancel(): Promise<void>;
}

export interface OvsdbClientEvents {
  state: [state: SessionState];
  connected: [info: ConnectedInfo];
  disconnected: [error: OvsdbError | undefined];
  /** A listener threw, or a monitor the server refused. */
  monitorError: [error: Error, monitorId: string];
  locked: [lockName: string];
  stolen: [lockName: string];
  /** A held lock was lost with its connection; it is asked for again on the next one. */
  lockLost: [lockName: string, reason: string];
}
