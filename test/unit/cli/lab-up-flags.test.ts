import { Parser } from '@oclif/core';
import LabUp from '../../../src/commands/lab/up';

// Parsing only: running the command would start a lab (root, OVS).
const parse = (argv: string[]) => Parser.parse(argv, { flags: LabUp.flags, args: LabUp.args, strict: true });

describe('vadc lab up flags', () => {
  it('parses without --cluster (the first example, `vadc lab up`): --nat has no oclif default that would count as given', async () => {
    const { flags } = await parse([]);
    expect(flags.nat).toBeUndefined();
    expect(flags.vms).toBe(2);
  });

  it('still refuses --nat without --cluster, and takes it with --hosts and --cluster', async () => {
    await expect(parse(['--nat', 'flows'])).rejects.toThrow(/--cluster/);
    const { flags } = await parse(['--hosts', '3', '--cluster', 'unix:/tmp/s1.sock', '--nat', 'flows']);
    expect(flags.nat).toBe('flows');
  });
});
