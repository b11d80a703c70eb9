jest.mock('../../../node_modules/@oclif/core/lib/util/os', () => ({
  ...jest.requireActual('../../../node_modules/@oclif/core/lib/util/os'),
  getPlatform: async () => 'linux',
}));
// Issue 18, defect 1, through the command an operator runs: `vadc start` facing an OVSDB that answers echo and errors
// everything else used to ignore SIGTERM until killed. Its SIGTERM handler must stop it promptly, leaving no
// connection open to the server. (ovsdb-outage.test.ts checks the daemon's side: one connection at a time.)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Start from '../../../src/commands/start';
import { echoOnlyServer } from '../../helpers/echo-only-ovsdb';
import { until } from '../../helpers/until';
import { loadConfig, runCommand } from './run-command';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-start-sigterm-'));
  await loadConfig();
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('vadc start facing an echo-only OVSDB: SIGTERM stops it within 5 s and closes its OVSDB connection', async () => {
  const fake = echoOnlyServer(path.join(dir, 'db.sock'));
  const config = path.join(dir, 'vadc.yaml');
  const socket = path.join(dir, 'api.sock');
  // Its host election in the test's directory, not the host's /var/lib/vadc/ha.
  writeFileSync(config, `controller: {listen: "tcp:127.0.0.1:0", ha: {dir: ${JSON.stringify(path.join(dir, 'ha'))}}}\novsdb: unix:${dir}/db.sock\ndatapath: {nat: flows}\nservices: []\n`, { mode: 0o600 });
  const run = runCommand(Start, ['--config', config, '--api-socket', socket, '--log-format', 'json']);
  await until(() => existsSync(socket), `its control socket ${socket}`, 20_000, { pollMs: 50 });
  // It is trying the hostile server (each attempt fails its get_schema and is closed before the next).
  await until(() => fake.accepted() >= 2, 'two connection attempts to the echo-only OVSDB', 10_000, { pollMs: 50 });
  const sentAt = Date.now();
  process.emit('SIGTERM');
  let bound: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([run.then(() => true), new Promise<false>((r) => (bound = setTimeout(() => r(false), 5000)))]);
  clearTimeout(bound); // else it keeps jest's worker alive for up to 5 s after the last test ("failed to exit gracefully")
  const result = await run.catch((err: Error) => ({ exitCode: -1, stderr: err.message }));
  expect({ stopped, exitCode: result.exitCode }).toEqual({ stopped: true, exitCode: 0 });
  console.log(`[start-sigterm] stopped ${Date.now() - sentAt} ms after SIGTERM, after ${fake.accepted()} OVSDB connection attempts`);
  await until(() => fake.open() === 0, 'its OVSDB connections to close', 2_000, { pollMs: 50, detail: () => `${fake.open()} still open` });
  expect(result.stderr).toMatch(/SIGTERM: stopping/);
  fake.server.close();
}, 90_000);
