import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runHook, type HookContext } from '../../../src/health';
import { createLogger } from '../../../src/util/logger';
import { processGoneWithin, scriptFolder } from './helpers';

let folder: ReturnType<typeof scriptFolder>;
let dir: string;
beforeAll(() => {
  folder = scriptFolder('vadc-health-hook-');
  dir = folder.dir;
});
afterAll(() => folder.remove());
const script = (name: string, body: string, mode?: number) => folder.script(name, body, mode);

/** A JSON logger whose records the test can read back. */
function capturingLogger() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  return { logger: createLogger({ format: 'json', stream, level: 'info' }), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const CTX: HookContext = { action: 'launch', service: 'web', backend: 'vm3', vnic: 'v-vm3', ip: '10.0.0.13', tier: 1, reason: 'tier 0 unavailable', attempt: 2 };

describe('runHook', () => {
  it('gives the hook its context in VADC_* variables and logs its output', async () => {
    const { logger, records } = capturingLogger();
    const path = script('env.sh', 'env | grep ^VADC_ | sort; echo "$EXTRA"');
    const r = await runHook({ command: [path], timeoutMs: 2000, env: { EXTRA: 'x1', VADC_SERVICE: 'overridden?' } }, CTX, logger);
    expect(r.ok).toBe(true);
    expect(r.output.split('\n').filter(Boolean)).toEqual([
      'VADC_ACTION=launch',
      'VADC_ATTEMPT=2',
      'VADC_BACKEND=vm3',
      'VADC_IP=10.0.0.13',
      'VADC_REASON=tier 0 unavailable',
      'VADC_SERVICE=web',
      'VADC_TIER=1',
      'VADC_VNIC=v-vm3',
      'x1',
    ]);
    await new Promise((r) => setImmediate(r));
    const done = records().find((rec) => rec.message === 'launch hook succeeded: exit code 0');
    expect(done).toMatchObject({ level: 'info', backend: 'vm3', service: 'web' });
    expect(done?.output).toContain('VADC_BACKEND=vm3');
  });

  it('reports a failing hook with its exit code, logged as an error', async () => {
    const { logger, records } = capturingLogger();
    const r = await runHook({ command: [script('fail.sh', 'echo "domain not found" >&2; exit 2')], timeoutMs: 2000 }, CTX, logger);
    expect(r).toMatchObject({ ok: false, reason: 'exit code 2', output: 'domain not found\n' });
    await new Promise((r) => setImmediate(r));
    expect(records().some((rec) => rec.level === 'error' && rec.message === 'launch hook failed: exit code 2')).toBe(true);
  });

  it('reports a hook that is not found or not executable', async () => {
    const { logger } = capturingLogger();
    const missing = await runHook({ command: [join(dir, 'start-vm')], timeoutMs: 2000 }, CTX, logger);
    expect(missing).toMatchObject({ ok: false, reason: `not found: ${join(dir, 'start-vm')} does not exist` });
    const noexec = script('noexec.sh', 'exit 0', 0o600);
    expect((await runHook({ command: [noexec], timeoutMs: 2000 }, CTX, logger)).reason).toBe(`not executable: ${noexec} is not an executable file`);
    const shell = await runHook({ command: 'virsh-not-installed start vm3', timeoutMs: 2000 }, CTX, logger);
    expect(shell.reason).toMatch(/^not found: .*virsh-not-installed/);
  });

  it('kills a hanging hook and what it started at the timeout', async () => {
    const { logger } = capturingLogger();
    const pidFile = join(dir, 'hang.pid');
    const path = script('hang.sh', `sleep 60 &\necho $! > ${pidFile}\nwait`);
    const r = await runHook({ command: [path], timeoutMs: 300 }, CTX, logger);
    expect(r).toMatchObject({ ok: false, reason: 'timed out after 300 ms; process group killed' });
    expect(await processGoneWithin(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });
});
