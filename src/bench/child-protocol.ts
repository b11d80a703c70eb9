// Messages between the flow-setup generator and its internal controller child process (IPC).
import type { InternalApp } from './plan';

export interface ChildSwitchPlan {
  dpid: string;
  clientPortName: string;
  backends: Array<{ portName: string; ip: string }>;
}

export type ToChild =
  | { kind: 'start'; app: InternalApp; config: Record<string, unknown>; switches: ChildSwitchPlan[]; backendPort: number }
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
