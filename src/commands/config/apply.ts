import { readFile } from 'node:fs/promises';
import { Args } from '@oclif/core';
import { ApiCommand } from '../../cli/api-command';
import { ConfigError, formatIssue, loadConfig } from '../../config';

export default class ConfigApplyCommand extends ApiCommand<typeof ConfigApplyCommand> {
  static override summary = 'Apply a configuration file to the running daemon without dropping established connections.';
  static override description =
    'The file is validated here first, then sent to the daemon, which validates it again and changes only what differs ' +
    '(services, backends, weights); connections to backends that stay keep flowing.';
  static override examples = ['<%= config.bin %> config apply /etc/vadc/vadc.yaml', '<%= config.bin %> config apply vadc.yaml --json'];
  static override args = { file: Args.string({ required: true, description: 'configuration file (YAML)' }) };

  public async run(): Promise<{ changed: string[] }> {
    const { args } = await this.parse(ConfigApplyCommand);
    try {
      await loadConfig(args.file);
    } catch (err) {
      if (!(err instanceof ConfigError) || err.issues.length === 0) throw err;
      const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more: run \`vadc config validate ${args.file}\`)` : '';
      throw new Error(`${args.file}: ${formatIssue(err.issues[0])}${more}; nothing applied`);
    }
    const result = await this.client.applyConfig(await readFile(args.file, 'utf8'));
    this.log(result.changed.length === 0 ? 'no changes' : `applied: ${result.changed.join(', ')}`);
    return result;
  }
}
