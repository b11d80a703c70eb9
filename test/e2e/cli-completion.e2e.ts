// Shell completion for the built CLI (bin/run.js reads dist/, which `npm test`'s pretest builds):
// real bash sources the script vadc writes and completes real command lines.
import { execFileSync } from 'node:child_process';
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
