// The systemd unit as systemd itself judges it: `systemd-analyze security --offline=true` rates its exposure
// (0 = locked down, 10 = none of the protections); vadc's must stay at 2.0 or below.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const UNIT = path.resolve(__dirname, '../../../packaging/vadc.service');
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const available = !analyze.error && analyze.status === 0;

(available ? describe : describe.skip)('packaging/vadc.service (systemd-analyze found)', () => {
  it('has an exposure level of 2.0 or less by systemd-analyze security --offline', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    const m = /Overall exposure level for vadc\.service: (\d+\.\d+)/.exec(out);
    if (!m) throw new Error(`no exposure level in systemd-analyze output:\n${out}`);
    expect(Number(m[1])).toBeLessThanOrEqual(2.0);
  });

  it('passes systemd-analyze verify (no unknown or misspelt directives)', () => {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', UNIT], { encoding: 'utf8' });
    // verify complains about the ExecStart binary when /opt/vadc is not installed here; everything else is a finding.
    const findings = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !/Command \/usr\/bin\/node is not executable|is not executable: No such file|\/opt\/vadc/.test(l));
    expect(findings).toEqual([]);
  });
});
