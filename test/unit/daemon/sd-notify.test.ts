// systemd readiness through the real systemd-notify, received on a unix datagram socket the way the service
// manager receives it (Python binds it: Node.js has no unix datagram sockets).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notifySystemd } from '../../../src/daemon/sd-notify';

const haveNotify = spawnSync('systemd-notify', ['--version']).status === 0;

(haveNotify ? describe : describe.skip)('notifySystemd (systemd-notify found)', () => {
  it('sends READY=1 and STATUS to NOTIFY_SOCKET, and does nothing without it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-notify-'));
    const sock = path.join(dir, 'notify.sock');
    const receiver = spawn('/usr/bin/python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(${JSON.stringify(sock)}); s.settimeout(20)
print('bound', flush=True)
# systemd-notify waits for a BARRIER=1 message to be seen (its fd closed), as the service manager does.
while True:
    m = s.recv(4096).decode()
    if m == 'BARRIER=1': break
    print(m.replace('\\n', '|'), flush=True)`]);
    let out = '';
    receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      while (!out.includes('bound') || !existsSync(sock)) await new Promise((r) => setTimeout(r, 50));
      const warnings: string[] = [];
      const logger = { warn: (m: string) => warnings.push(m) } as unknown as Parameters<typeof notifySystemd>[1];
      expect([notifySystemd({ ready: true, status: 'serving lab' }, logger, { ...process.env, NOTIFY_SOCKET: sock }), warnings]).toEqual([true, []]);
      await new Promise<void>((resolve) => receiver.on('exit', () => resolve()));
      expect(out.trim().split('\n').pop()).toBe('READY=1|STATUS=serving lab');
      expect(notifySystemd({ ready: true }, undefined, {})).toBe(false);
    } finally {
      receiver.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
