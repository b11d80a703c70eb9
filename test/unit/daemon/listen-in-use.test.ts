// Issue 14, bad input: two instances configured with the same listen address. The second used to print Node's
// "listen EADDRINUSE" (naming no setting) and then stay alive, its health checks and election still running.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../../src/api/server';
import { parseConfig } from '../../../src/config';
import { Controller } from '../../../src/controller';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { ListenError, listenError } from '../../../src/util/listen-error';
import { noVswitchd } from '../../helpers/nat-mode';
import { sampleRuntime } from '../api/fake-runtime';

const dir = mkdtempSync(join(tmpdir(), 'vadc-listen-in-use-'));
let taken: net.Server;
let takenPort: number;
beforeAll(async () => {
  taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('a listen address already in use', () => {
  it('controller.listen: a ListenError that names the setting, the address and the pair rule', async () => {
    const controller = new Controller({ listen: [`tcp:127.0.0.1:${takenPort}`] });
    const err = await controller.start().catch((e: unknown) => e);
    await controller.stop();
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).message).toBe(
      `controller.listen tcp:127.0.0.1:${takenPort}: the address is already in use by another process (another vadc with the same setting? `
      + 'the two instances of a controller pair need different controller.listen, api.listen and metrics.listen)');
  });

  it.each([
    ['control', 'api.listen'],
    ['metrics', 'metrics.listen'],
  ] as const)('a %s listener names %s', async (role, setting) => {
    const err = await ApiServer.start({ runtime: await sampleRuntime(), listen: [{ endpoint: `tcp:127.0.0.1:${takenPort}`, role, token: 'a-token-of-16-chars-or-more' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).message).toMatch(new RegExp(`^${setting.replace('.', '\\.')} tcp:127\\.0\\.0\\.1:${takenPort}: the address is already in use`));
  });

  it('a unix socket another daemon serves names the setting too', async () => {
    const path = join(dir, 'api.sock');
    const first = await ApiServer.start({ runtime: await sampleRuntime(), listen: [{ endpoint: `unix:${path}` }] });
    try {
      await expect(ApiServer.start({ runtime: await sampleRuntime(), listen: [{ endpoint: `unix:${path}` }] }))
        .rejects.toThrow(`api.listen unix:${path}: another vadc daemon is already serving it (the two instances of a controller pair need different api.listen)`);
    } finally {
      await first.close();
    }
  });

  it('other bind errors keep their own advice, and errors that are not bind errors pass through unchanged', () => {
    const eacces = Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES' });
    expect(listenError(eacces, 'controller.listen', 'tcp:0.0.0.0:80').message)
      .toBe('controller.listen tcp:0.0.0.0:80: permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)');
    const other = Object.assign(new Error('something else'), { code: 'EMFILE' });
    expect(listenError(other, 'api.listen', 'tcp:127.0.0.1:1')).toBe(other);
  });

  it('the daemon that cannot bind stops what it had started (its health checks run no more) and reports why', async () => {
    const marks = join(dir, 'checks.log');
    const config = parseConfig(`
controller: { listen: "tcp:127.0.0.1:${takenPort}" }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    health: { type: script, command: ["/bin/sh", "-c", "echo run >> ${marks}"], interval: 0.2, timeout: 0.1, rise: 1, fall: 1 }
    backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }]
`, 'test');
    const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config, ovsdb: false });
    await expect(daemon.start()).rejects.toThrow(ListenError);
    const runsAtFailure = existsSync(marks) ? readFileSync(marks, 'utf8').length : 0;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Five intervals later: not one more check (a check still running at the failure may finish: allow one).
    const runsAfter = existsSync(marks) ? readFileSync(marks, 'utf8').length : 0;
    expect(runsAfter - runsAtFailure).toBeLessThanOrEqual('run\n'.length);
    await daemon.stop();
  });
});
