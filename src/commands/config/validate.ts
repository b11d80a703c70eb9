import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command';
import { ConfigError, loadConfig, type ConfigIssue } from '../../config';

export interface ValidateResult {
  file: string;
  valid: boolean;
  services?: number;
  backends?: number;
  issues?: ConfigIssue[];
}

export default class ConfigValidateCommand extends BaseCommand<typeof ConfigValidateCommand> {
  static override summary = 'Check a configuration file without a daemon: YAML syntax, schema and cross-field rules.';
  static override description = 'Prints every problem with the path to fix; exits 1 if there is any.';
  static override examples = ['<%= config.bin %> config validate /etc/vadc/vadc.yaml', '<%= config.bin %> config validate vadc.yaml --json'];
  static override args = { file: Args.string({ required: true, description: 'configuration file (YAML)' }) };

  public async run(): Promise<ValidateResult> {
    const { args } = await this.parse(ConfigValidateCommand);
    try {
      const config = await loadConfig(args.file);
      const backends = config.services.reduce((n, s) => n + s.backends.length, 0);
      this.log(`${args.file}: valid (${config.services.length} services, ${backends} backends)`);
      return { file: args.file, valid: true, services: config.services.length, backends };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.exitCode = 1;
      if (!this.jsonEnabled()) {
        for (const issue of err.issues) process.stderr.write(`${args.file}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}\n`);
        process.stderr.write(`Error: ${args.file}: invalid configuration (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'})\n`);
      }
      return { file: args.file, valid: false, issues: err.issues };
    }
  }
}
