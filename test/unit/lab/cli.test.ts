import { ApiError, DaemonUnreachableError } from '../../../src/api/errors';
import { describeError, EXIT_FAILURE, EXIT_USAGE } from '../../../src/cli/base-command';
import { formatTable } from '../../../src/cli/table';
import { LabError } from '../../../src/lab/errors';

describe('CLI table printer', () => {
  it('aligns columns under their headers and shows missing values as -', () => {
    const rows = [
      { name: 'vm1', ofport: 1, ip: '10.0.0.11' },
      { name: 'client10', ofport: undefined, ip: '10.0.0.101' },
    ];
    const text = formatTable(rows, [
      { header: 'HOST', get: 'name' },
      { header: 'OFPORT', get: 'ofport' },
      { header: 'IP', get: (row) => row.ip.toUpperCase() },
    ]);
    expect(text.split('\n')).toEqual([
      'HOST      OFPORT  IP',
      'vm1       1       10.0.0.11',
      'client10  -       10.0.0.101',
    ]);
  });

  it('prints just the header for no rows', () => {
    expect(formatTable([], [{ header: 'A', get: 'x' as never }])).toBe('A');
  });
});

describe('CLI error line', () => {
  it('gives a typed lab error one line, its code and exit code 1', () => {
    expect(describeError(new LabError('bad-name', "lab name 'X' is invalid"))).toEqual({
      line: "Error: lab name 'X' is invalid", exitCode: EXIT_FAILURE, code: 'bad-name', message: "lab name 'X' is invalid",
    });
  });

  it('folds a multi-line parser error into one line with the usage exit code', () => {
    const parseError = Object.assign(new Error('Parsing --vms\n\tExpected an integer but received: x'), { oclif: { exit: 2 } });
    expect(describeError(parseError)).toEqual({
      line: 'Error: Parsing --vms: Expected an integer but received: x', exitCode: EXIT_USAGE, code: 'usage',
      message: 'Parsing --vms: Expected an integer but received: x',
    });
  });

  it('copes with something thrown that is not an Error', () => {
    expect(describeError('boom')).toMatchObject({ line: 'Error: boom', code: 'failed', exitCode: EXIT_FAILURE });
  });

  it('gives a daemon that is not there and an API error their stable codes', () => {
    expect(describeError(new DaemonUnreachableError('unix:/x.sock', 'ENOENT')).code).toBe('daemon_unreachable');
    expect(describeError(new ApiError('not_found', 'no service named x'))).toMatchObject({ code: 'not_found', exitCode: EXIT_FAILURE, line: 'Error: no service named x' });
  });
});
