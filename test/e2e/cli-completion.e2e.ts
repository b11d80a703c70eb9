// Shell completion for the built CLI (bin/run.js reads dist/, which `npm test`'s pretest builds):
// real bash sources the script vadc writes and completes real command lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
let home: string;

beforeAll(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'vadc-completion-'));
});

afterAll(() => rmSync(home, { recursive: true, force: true }));

function complete(words: string[]): string[] {
  const setup = execFileSync(process.execPath, [path.join(root, 'bin/run.js'), 'autocomplete', 'script', 'bash'], {
    env: { ...process.env, HOME: home, NODE_ENV: 'production' }, encoding: 'utf8',
  });
  // The setup line names a cache file that `autocomplete` builds; build it first, then complete in bash.
  execFileSync(process.execPath, [path.join(root, 'bin/run.js'), 'autocomplete', '--refresh-cache'], {
    env: { ...process.env, HOME: home, NODE_ENV: 'production' }, encoding: 'utf8',
  });
  const script = `${setup}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${words.join(' ')}'; COMP_POINT=\${#COMP_LINE}\n_vadc_autocomplete\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
  const replies = execFileSync('bash', ['-c', script], { env: { ...process.env, HOME: home }, encoding: 'utf8' }).split('\n').filter(Boolean);
  // The function offers a topic once per command under it; readline shows each match once.
  return [...new Set(replies)];
}

describe('vadc shell completion (bash)', () => {
  it('completes topics, commands and flags', () => {
    expect(complete(['vadc', 'back'])).toEqual(['backend']);
    expect(complete(['vadc', 'backend', 'dr'])).toEqual(['drain']);
    expect(complete(['vadc', 'conns', '--ser'])).toEqual(['--service']);
  });
});

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/run.js'), ...args], { env: { ...process.env, HOME: home, NODE_ENV: 'production' }, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('vadc CLI conventions (the built CLI as a shell runs it)', () => {
  it('-h, --help, help and help TOPIC print help on stdout and exit 0', () => {
    for (const args of [['-h'], ['--help'], ['help']]) {
      const r = cli(args);
      expect([args, r.code, r.stderr]).toEqual([args, 0, '']);
      expect(r.stdout).toMatch(/^USAGE\n\s+\$ vadc \[COMMAND\]/m);
      expect(r.stdout).toMatch(/^\s+status\s+Show switches, services and backends/m);
    }
    const topic = cli(['help', 'backend']);
    expect(topic.code).toBe(0);
    expect(topic.stdout).toMatch(/^\s+backend drain\s+/m);
    const command = cli(['backend', 'add', '-h']);
    expect(command.stdout).toMatch(/--port=<value>\.\.\./);
    expect(command.stdout).not.toMatch(/--config/); // only `vadc start` reads a configuration file
    expect(cli(['start', '--help']).stdout).toMatch(/--config=<value>/);
  });

  it('version and --version print the version', () => {
    for (const args of [['version'], ['--version']]) expect(cli(args)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^vadc\/\d+\.\d+\.\d+ linux-x64 node-v\d+/) });
  });

  it('a typo gets a suggestion on stderr and exit 2; --json makes it one JSON object', () => {
    const typo = cli(['stauts']);
    expect([typo.code, typo.stdout]).toEqual([2, '']);
    expect(typo.stderr).toMatch(/^Error: stauts is not a vadc command; did you mean `vadc status`/);
    expect(typo.stderr.trim().split('\n')).toHaveLength(1);
    const json = cli(['stauts', '--json']);
    expect([json.code, json.stdout]).toEqual([2, '']);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'unknown_command', message: expect.stringContaining('vadc status') } });
  });

  it('a usage error exits 2 with one line on stderr (one JSON object with --json), nothing on stdout', () => {
    const bad = cli(['backend', 'weight', 'web', 'v-vm1', 'heavy', '--api', 'unix:/nonexistent/vadc.sock']);
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toMatch(/^Error: Expected an integer but received: heavy \(see vadc backend weight --help\)\n$/);
    const json = cli(['backend', 'weight', 'web', 'v-vm1', 'heavy', '--json']);
    expect([json.code, json.stdout]).toEqual([2, '']);
    expect(JSON.parse(json.stderr).error.code).toBe('usage');
    // A failed operation is 1, with its own stable code.
    const down = cli(['status', '--api', 'unix:/nonexistent/vadc.sock', '--json']);
    expect([down.code, down.stdout, JSON.parse(down.stderr).error.code]).toEqual([1, '', 'daemon_unreachable']);
    // --port takes one value: the VNIC after it stays the argument (the daemon is what is missing here).
    const portFirst = cli(['backend', 'add', 'web', '--port', '8080', 'v-vm3', '--ip', '10.0.0.13', '--api', 'unix:/nonexistent/vadc.sock']);
    expect(portFirst.code).toBe(1);
    expect(portFirst.stderr).toMatch(/not reachable/);
  });
});
