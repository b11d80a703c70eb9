jest.mock('../../../node_modules/@oclif/core/lib/util/os', () => ({
  ...jest.requireActual('../../../node_modules/@oclif/core/lib/util/os'),
  getPlatform: async () => 'linux',
}));
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Start from '../../../src/commands/start';
import { daemonLogSettings } from '../../../src/util/logger';
import { until } from '../../helpers/until';
import { runCommand, type CommandResult } from './run-command';

/** Runs `vadc start` in-process until its control socket appears, then stops it as SIGTERM would. */
async function startAndStop(dir: string, configLog: string, argv: string[]): Promise<CommandResult> {
  const config = path.join(dir, `vadc-${Math.random().toString(36).slice(2)}.yaml`);
  const socket = `${config}.sock`;
  // Its host election in the test's directory, not the host's /var/lib/vadc/ha.
  writeFileSync(config, `controller: {listen: "tcp:127.0.0.1:0", ha: {dir: ${JSON.stringify(path.join(dir, 'ha'))}}}\novsdb: unix:${dir}/no-db.sock\n${configLog}services: []\n`, { mode: 0o600 });
  const run = runCommand(Start, ['--config', config, '--api-socket', socket, '--log-format', 'json', ...argv]);
  await until(() => existsSync(socket), `its control socket ${socket}`, 10_000, { pollMs: 50 });
  await new Promise((r) => setTimeout(r, 50));
  process.emit('SIGTERM');
  return run;
}

const levelsOf = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { level: string }).level);

describe('vadc start log level (issue 18, defect 11)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-start-log-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  jest.setTimeout(90_000); // each test starts and stops `vadc start`: slow on a loaded machine

  it('--log-level warn logs nothing below warn', async () => {
    const { stderr } = await startAndStop(dir, '', ['--log-level', 'warn']);
    const levels = levelsOf(stderr);
    expect(levels).toContain('warn'); // OVSDB is unreachable: one warning
    expect(levels.filter((l) => l !== 'warn' && l !== 'error')).toEqual([]);
  });

  it('without the flag it follows the config\'s log.level', async () => {
    const { stderr } = await startAndStop(dir, 'log: {level: error}\n', []);
    expect(levelsOf(stderr)).toEqual([]);
    const { stderr: chatty } = await startAndStop(dir, '', []);
    expect(levelsOf(chatty)).toContain('info');
  });

  it('flag, then VADC_LOG_LEVEL, then the config, then info', () => {
    expect(daemonLogSettings({ level: 'warn' }, { level: 'debug', format: 'text' }, { VADC_LOG_LEVEL: 'error' })).toEqual({ level: 'warn', format: 'text' });
    expect(daemonLogSettings({}, { level: 'debug' }, { VADC_LOG_LEVEL: 'error' })).toEqual({ level: 'error', format: undefined });
    expect(daemonLogSettings({ format: 'json' }, { level: 'debug', format: 'text' }, {})).toEqual({ level: 'debug', format: 'json' });
    expect(daemonLogSettings({}, undefined, {})).toEqual({ level: 'info', format: undefined });
  });
});
