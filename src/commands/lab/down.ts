import { BaseCommand } from '../../cli/base-command';
import { labLocatorFlags } from '../../cli/lab-flags';
import { Lab } from '../../lab';

export default class LabDown extends BaseCommand<typeof LabDown> {
  static override summary = 'Remove a lab: its daemons, namespaces, ports, devices and directory.';
  static override description =
    'Safe to run again, and after the process that started the lab crashed: it works from the state file ' +
    'and the lab naming plan, not from a running vadc.';
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --name t1'];

  static override flags = { ...labLocatorFlags };

  public async run(): Promise<{ name: string; down: true }> {
    await Lab.down(this.flags.name, { baseDir: this.flags['base-dir'] });
    this.log(`lab '${this.flags.name}' is down`);
    return { name: this.flags.name, down: true };
  }
}
