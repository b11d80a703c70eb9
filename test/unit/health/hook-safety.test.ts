import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../../src/config';
import { runCheck, runProcess } from '../../../src/health';
import { isProcessGone, scriptFolder } from './helpers';
import { until } from '../../helpers/until';

let folder: ReturnType<typeof scriptFolder>;
let dir: string;
beforeAll(() => {
  folder = scriptFolder('vadc-hook-safety-');
  dir = folder.dir;
});
afterAll(() => folder.remove());

describe('hooks and script checks run only safe executables (issue 18, defect 10)', () => {
  it('refuses a relative path', async () => {
    for (const command of [['./start-vm.sh'], ['bin/start-vm'], 'scripts/start-vm --now']) {
      const outcome = await runProcess({ command, timeoutMs: 2000 });
      expect(outcome.end).toEqual({ kind: 'spawn_failed', failure: 'unsafe', message: expect.stringMatching(/is a relative path: give the absolute path of the executable$/) });
    }
  });

  it('refuses an executable others can change: group/world-writable itself or in such a directory', async () => {
    const loose = folder.script('loose.sh', 'exit 0', 0o777);
    expect((await runProcess({ command: [loose], timeoutMs: 2000 })).end).toEqual({
      kind: 'spawn_failed', failure: 'unsafe', message: `${loose} is writable by group or others (mode 0777): chmod go-w it`,
    });
    const groupWritable = join(dir, 'group-writable');
    mkdirSync(groupWritable);
    chmodSync(groupWritable, 0o775);
    const inGroupWritable = join(groupWritable, 'start.sh');
    writeFileSync(inGroupWritable, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    expect((await runProcess({ command: `${inGroupWritable} --now`, timeoutMs: 2000 })).end).toEqual({
      kind: 'spawn_failed', failure: 'unsafe', message: `${groupWritable} (a directory on the way to ${inGroupWritable}) is writable by group or others (mode 0775): chmod go-w it`,
    });
    const fine = folder.script('fine.sh', 'exit 0', 0o755);
    expect((await runProcess({ command: [fine], timeoutMs: 2000 })).end).toEqual({ kind: 'exited', code: 0 });
  });

  it('gives the process an explicit minimal environment, not the daemon\'s', async () => {
    process.env.VADC_TEST_DAEMON_SECRET = 'do-not-leak';
    try {
      const outcome = await runProcess({ command: ['/usr/bin/env'], env: { SITE: 'lab' }, timeoutMs: 2000 });
      const names = outcome.stdout.split('\n').filter(Boolean).map((l) => l.split('=')[0]).sort();
      expect(names).toEqual(['PATH', 'SITE']);
      expect(outcome.stdout).not.toContain('do-not-leak');
    } finally {
      delete process.env.VADC_TEST_DAEMON_SECRET;
    }
  });

  it('finds a bare command name on the hook\'s PATH, not the daemon\'s', async () => {
    const tools = join(dir, 'tools');
    mkdirSync(tools, { mode: 0o755 });
    const tool = join(tools, 'vadc-test-tool');
    writeFileSync(tool, '#!/bin/sh\necho "tool ran with PATH=$PATH"\n', { mode: 0o755 });
    const outcome = await runProcess({ command: ['vadc-test-tool'], env: { PATH: `${tools}:/usr/bin:/bin` }, timeoutMs: 2000 });
    expect(outcome).toMatchObject({ end: { kind: 'exited', code: 0 }, stdout: `tool ran with PATH=${tools}:/usr/bin:/bin\n` });
    const missing = await runProcess({ command: ['vadc-test-tool'], timeoutMs: 2000 });
    expect(missing.end).toMatchObject({ kind: 'spawn_failed', failure: 'not_found', message: expect.stringMatching(/^vadc-test-tool was not found on PATH \(\/usr\/local\/sbin:/) });
  });

  it('kills what a script check leaves running in the background once it ends', async () => {
    const pidFile = join(dir, 'bg.pid');
    const check = folder.script('bg-check.sh', `sleep 60 &\necho $! > ${pidFile}\necho healthy`);
    const result = await runCheck({ kind: 'script', command: [check], timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: true, output: 'healthy\n' });
    const child = Number(readFileSync(pidFile, 'utf8'));
    await until(() => isProcessGone(child), `the check's background child ${child} to be gone`, 2000);
  });

  it('the configuration refuses relative hook and check paths, naming the field', () => {
    const service = (extra: string) => `services:\n  - name: web\n    vip: 10.0.0.100\n    port: 80\n${extra}\n    backends:\n      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }\n`;
    const issues = (text: string) => {
      try {
        parseConfig(text);
      } catch (err) {
        return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    expect(issues(service('    launch: {command: [./start-vm.sh, web]}'))).toEqual(['services[0].launch.command[0]: "./start-vm.sh" is a relative path: give the absolute path of the executable']);
    expect(issues(service('    stop: {command: "bin/stop-vm web"}'))).toEqual(['services[0].stop.command: "bin/stop-vm" is a relative path: give the absolute path of the executable']);
    expect(issues(service('    health: {type: script, command: [checks/web.sh]}'))).toEqual(['services[0].health.command[0]: "checks/web.sh" is a relative path: give the absolute path of the executable']);
    expect(issues(service('    launch: {command: [virsh, start, web]}'))).toEqual([]); // a bare name is looked up on the hook's PATH
  });
});
