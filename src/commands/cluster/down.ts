import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command';
import { storeClusterDown } from '../../lab';

export default class ClusterDown extends BaseCommand<typeof ClusterDown> {
  static override summary = 'Stop a local store cluster made by `vadc cluster up` and remove its files (its data is lost).';
  static override examples = ['<%= config.bin %> cluster down --dir ./store'];
  static override flags = { dir: Flags.string({ required: true, description: 'the directory given to vadc cluster up' }) };

  public async run(): Promise<{ dir: string }> {
    await storeClusterDown(this.flags.dir);
    this.log(`cluster store in ${this.flags.dir} stopped and removed`);
    return { dir: this.flags.dir };
  }
}
