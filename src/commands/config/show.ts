import { Flags } from '@oclif/core';
import { ApiCommand } from '../../cli/api-command';
import { computeEffectiveView, renderEffective } from '../../cluster';
import { parseConfig, readConfigFile } from '../../config';

export default class ConfigShowCommand extends ApiCommand<typeof ConfigShowCommand> {
  static override summary = 'Print the configuration the daemon is running now, with runtime changes, as YAML.';
  static override description =
    'With --effective: the services this host serves, from its config file and (with a cluster: key) the cluster store\'s ' +
    'policy merged for the host, every value followed by where it came from (file, cluster, group:NAME, host:NAME, default). ' +
    'The configuration is the running daemon\'s, or --file.';
  static override examples = [
    '<%= config.bin %> config show > vadc.yaml',
    '<%= config.bin %> config show --json',
    '<%= config.bin %> config show --effective',
    '<%= config.bin %> config show --effective --file /etc/vadc/vadc.yaml --json',
  ];
  static override flags = {
    effective: Flags.boolean({ description: 'the effective policy with where each value came from' }),
    file: Flags.file({ exists: true, dependsOn: ['effective'], description: 'with --effective: read this config file instead of asking the daemon' }),
  };

  public async run(): Promise<{ yaml: string } | object> {
    const { flags } = await this.parse(ConfigShowCommand);
    if (flags.effective) {
      const text = flags.file ? await readConfigFile(flags.file) : await this.client.configText();
      const config = parseConfig(text, flags.file ?? 'the daemon\'s configuration');
      const running = flags.file ? undefined : (await this.client.status()).datapath;
      const view = await computeEffectiveView(config, { configPath: flags.file, ...(running ? { running: { nat: running.nat, reason: running.reason } } : {}) });
      if (!this.jsonEnabled()) process.stdout.write(renderEffective(view));
      return view;
    }
    const yaml = await this.client.configText();
    if (!this.jsonEnabled()) process.stdout.write(yaml.endsWith('\n') ? yaml : `${yaml}\n`);
    return { yaml };
  }
}
