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

export type FromChild =
  | { kind: 'listening'; port: number; pid: number }
  | { kind: 'cpu'; userUs: number; systemUs: number }
  | { kind: 'stopped'; appEvents: Record<string, number> }
  | { kind: 'failed'; message: string };
