// Readiness and status for systemd (Type=notify): `systemd-notify`, since Node.js has no unix datagram sockets.
// Without NOTIFY_SOCKET (not started by systemd) it does nothing. systemd-notify waits until the manager has read
// the message (a barrier), so the message is never attributed to a process that already exited.
import { spawnSync } from 'node:child_process';
import type { Logger } from '../util/logger';

export type NotifyState = { ready?: boolean; stopping?: boolean; status?: string };

/** Sends READY=1 / STOPPING=1 / STATUS=... to the service manager; returns whether a message was sent. */
export function notifySystemd(state: NotifyState, logger?: Logger, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!env.NOTIFY_SOCKET) return false;
  const fields = [state.ready ? 'READY=1' : '', state.stopping ? 'STOPPING=1' : '', state.status ? `STATUS=${state.status}` : ''].filter(Boolean);
  const r = spawnSync('systemd-notify', fields, { env, encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) {
    logger?.warn(`could not notify systemd (${fields.join(' ')}): ${r.error?.message ?? r.stderr.trim() ?? `exit ${r.status}`}`);
    return false;
  }
  return true;
}
