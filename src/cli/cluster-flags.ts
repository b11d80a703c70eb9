// The flags of every command that can talk to the cluster store instead of the local daemon, and the session
// they open (one per command, closed when it is done).
import { Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ClusterAdmin, parseScope } from '../cluster';

export const clusterFlags = {
  cluster: Flags.string({
    env: 'VADC_CLUSTER',
    description: 'the cluster store (OVSDB remotes unix:PATH,tcp:HOST:PORT,ssl:HOST:PORT): write policy there instead of to the local daemon',
    helpGroup: 'CLUSTER',
  }),
  scope: Flags.string({
    default: 'cluster',
    description: 'with --cluster: where the policy applies: cluster, group:NAME or host:NAME',
    helpGroup: 'CLUSTER',
    parse: async (input) => {
      parseScope(input);
      return input;
    },
  }),
  'ssl-key': Flags.file({ exists: true, description: 'PEM private key for ssl: remotes', helpGroup: 'CLUSTER' }),
  'ssl-cert': Flags.file({ exists: true, description: 'PEM certificate for ssl: remotes', helpGroup: 'CLUSTER' }),
  'ssl-ca': Flags.file({ exists: true, description: 'PEM CA certificate for ssl: remotes', helpGroup: 'CLUSTER' }),
};

/** A reading command's --scope: no default (every scope). */
export const scopeFilterFlag = Flags.string({
  description: 'with --cluster: only the rows at this scope (cluster, group:NAME or host:NAME); default every scope',
  helpGroup: 'CLUSTER',
  parse: async (input) => {
    parseScope(input);
    return input;
  },
});

export interface ClusterFlagValues {
  cluster?: string;
  scope: string;
  'ssl-key'?: string;
  'ssl-cert'?: string;
  'ssl-ca'?: string;
}

/** Opens the store for one command and closes it afterwards, whatever happens. */
export async function withStore<T>(flags: ClusterFlagValues, use: (admin: ClusterAdmin) => Promise<T>): Promise<T> {
  const tls = flags['ssl-key'] && flags['ssl-cert'] && flags['ssl-ca']
    ? { privateKey: flags['ssl-key'], certificate: flags['ssl-cert'], caCert: flags['ssl-ca'] }
    : undefined;
  const admin = await ClusterAdmin.open(flags.cluster!, { tls });
  try {
    return await use(admin);
  } finally {
    admin.close();
  }
}

/** schema/vadc.ovsschema of this installation (dist/cli/.. or src/cli/..). */
export function storeSchemaPath(): string {
  return path.join(__dirname, '..', '..', 'schema', 'vadc.ovsschema');
}

/** A YAML/JSON service file's contents (parsed by the caller). */
export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
