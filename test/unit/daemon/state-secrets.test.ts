import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config';
import { effectiveConfigText, exposedSecretWarning, writeState } from '../../../src/daemon/serve';

const TOKEN = 'state-secret-token-0123456789abcdef';
const CONFIG = `# operator's file
api:
  listen: tcp:127.0.0.1:8181
  token: ${TOKEN}
services: []
`;

describe('the runtime state file keeps no secret (issue 18, defect 3)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is written mode 0600 without the API token, even over an older world-readable file', () => {
    const statePath = path.join(dir, 'vadc.yaml.state.yaml');
    writeFileSync(statePath, 'old', { mode: 0o644 });
    chmodSync(statePath, 0o644);
    writeState(statePath, CONFIG, CONFIG.replace('services: []', 'services: [] # changed through the API'));
    expect(statSync(statePath).mode & 0o777).toBe(0o600);
    const written = readFileSync(statePath, 'utf8');
    expect(written).not.toContain(TOKEN);
    expect(written).toContain('changed through the API');
  });

  it('is read back with the token the config file holds', () => {
    const statePath = path.join(dir, 'vadc.yaml.state.yaml');
    writeState(statePath, CONFIG, CONFIG.replace('services: []', 'services: [] # changed'));
    const chosen = effectiveConfigText(CONFIG, statePath);
    expect(chosen.fromState).toBe(true);
    expect(chosen.text).toContain('# changed');
    expect(parseConfig(chosen.text).api?.token).toBe(TOKEN);
  });
});

describe('a config file holding the token', () => {
  it('is reported when others can read it, and not when it is 0600 or holds no token', () => {
    expect(exposedSecretWarning('/etc/vadc/vadc.yaml', CONFIG, 0o100644)).toBe('/etc/vadc/vadc.yaml holds api.token and is readable by others (mode 0644): chmod 600 /etc/vadc/vadc.yaml');
    expect(exposedSecretWarning('/etc/vadc/vadc.yaml', CONFIG, 0o100600)).toBeUndefined();
    expect(exposedSecretWarning('/etc/vadc/vadc.yaml', 'services: []\n', 0o100644)).toBeUndefined();
  });
});
