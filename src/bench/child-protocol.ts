// Messages between the flow-setup generator and its internal controller child process (IPC).
import type { InternalApp } from './plan';

export interface ChildSwitchPlan {
  dpid: string;
  clientPortName: string;
  backends: Array<{ portName: string; ip: string }>;
}

/**
 * The internal controller child's own timeouts, each optional (absent: the usual one). A child under valgrind runs
 * ~50x slower: its start, its exit and its sessions' handshake and echo need far longer (none is on the packet-in path).
 */
export interface ChildTimeouts {
  /** The child reports its listening port within this. */
  startMs?: number;
  /** The child answers a CPU-time or stop request, and exits after stop, within this. */
  stopMs?: number;
  /** The child's OpenFlow sessions: hello, features, set_config and port_desc complete within this. */
  handshakeMs?: number;
  /** The child's OpenFlow sessions: an echo request after this long without traffic (3 intervals silent: dead). */
  echoIntervalMs?: number;
}

/** What runs the internal controller child: `prefix` before Node (e.g. valgrind and its options), `nodeFlags` after it. */
export interface ChildLauncher {
  prefix: string[];
  nodeFlags: string[];
}

/** The child's OpenFlow session settings from ChildTimeouts (absent: the controller's defaults). */
export interface ChildSessionTimeouts {
  handshakeTimeoutMs?: number;
  echoIntervalMs?: number;
}

export type ToChild =
  | { kind: 'start'; app: InternalApp; config: Record<string, unknown>; switches: ChildSwitchPlan[]; backendPort: number; session?: ChildSessionTimeouts }
  | { kind: 'cpu' }
  | { kind: 'stop' };

/** What vadc's app saw of connection ends over the run (vadc app only): the copies and the connections they closed. */
export interface AppEnds {
  /** End copies the app took as such (services' endCopies). */
  copies: number;
  /** Connections both of whose sides closed (or one reset): no longer counted on their backend. */
  ended: number;
  /** Connections still counted inactive (IPVS's sense: not established, or one side closed). */
  inactive: number;
}

export type FromChild =
  | { kind: 'listening'; port: number; pid: number }
  | { kind: 'cpu'; userUs: number; systemUs: number }
  | { kind: 'stopped'; appEvents: Record<string, number>; ends?: AppEnds }
  | { kind: 'failed'; message: string };
