import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config';
import { FD_RESERVE, fdBudget, fdBudgetWarning, openFileLimit } from '../../../src/daemon/fd-budget';

describe('file-descriptor budget of the connection limits', () => {
  it('adds up the caps and the reserve, and warns only when the process limit is lower', () => {
    const limits = parseConfig('limits: {openflow_switches: 100, openflow_handshaking: 10, api_connections: 20, metrics_connections: 5}\n').limits;
    const budget = fdBudget(limits, 2, true);
    expect(budget).toBe(100 + 10 + 64 + 2 * 20 + 5 + FD_RESERVE);
    expect(fdBudgetWarning(budget, 1024)).toBeUndefined();
    expect(fdBudgetWarning(budget, 256)).toBe(`the connection limits allow ${budget} open files (with ${FD_RESERVE} in reserve) but the process may open 256: lower limits.* in the configuration or raise LimitNOFILE (systemd) / ulimit -n`);
    expect(fdBudgetWarning(budget, undefined)).toBeUndefined();
  });

  it('reads the soft limit from /proc/self/limits', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-fd-'));
    try {
      const file = path.join(dir, 'limits');
      writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n');
      expect(openFileLimit(file)).toBe(1024);
      expect(openFileLimit(path.join(dir, 'missing'))).toBeUndefined();
      expect(openFileLimit()).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
