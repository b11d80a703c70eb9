import { ApiCommand } from '../../cli/api-command';

export default class ConfigShowCommand extends ApiCommand<typeof ConfigShowCommand> {
  static override summary = 'Print the configuration the daemon is running now, with runtime changes, as YAML.';
  static override examples = ['<%= config.bin %> config show > vadc.yaml', '<%= config.bin %> config show --json'];

  public async run(): Promise<{ yaml: string }> {
    const yaml = await this.client.configText();
    if (!this.jsonEnabled()) process.stdout.write(yaml.endsWith('\n') ? yaml : `${yaml}\n`);
    return { yaml };
  }
}
