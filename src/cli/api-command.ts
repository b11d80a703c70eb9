// The base of every command that talks to the running daemon: --api/--socket and --token (or VADC_API,
// VADC_TOKEN), and a ready VadcClient. Errors (daemon not running, permission, HTTP errors) reach
// BaseCommand.catch as one line with a non-zero exit code.
import { Args, Command, Flags } from '@oclif/core';
// The client's own modules, not the '../api' barrel: that would load the API server, its schemas and the dashboard
// into every CLI command (about 0.15 s of CPU per command, which a loaded host multiplies).
import { VadcClient } from '../api/client';
import { DEFAULT_API_ENDPOINT, parseApiEndpoint } from '../api/endpoint';
import { BaseCommand } from './base-command';
import { readFileSync } from 'node:fs';

export const apiFlags = {
  api: Flags.string({
    aliases: ['socket'],
    // Checked while parsing, so a malformed endpoint is a usage error (exit 2).
    parse: async (text) => {
      parseApiEndpoint(text);
      return text;
    },
    env: 'VADC_API',
    default: DEFAULT_API_ENDPOINT,
    description: 'control API of the daemon: unix:PATH (or a bare /path), tcp:127.0.0.1:PORT or ssl:127.0.0.1:PORT',
    helpGroup: 'DAEMON',
  }),
  token: Flags.string({ env: 'VADC_TOKEN', description: 'bearer token for tcp:/ssl: endpoints', helpGroup: 'DAEMON' }),
  'api-ca': Flags.file({ exists: true, description: 'PEM CA to verify an ssl: endpoint signed by a private CA', helpGroup: 'DAEMON' }),
};

export abstract class ApiCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = { ...BaseCommand.baseFlags, ...apiFlags };

  protected client!: VadcClient;

  public override async init(): Promise<void> {
    await super.init();
    const flags = this.flags as unknown as { api: string; token?: string; 'api-ca'?: string };
    this.client = new VadcClient({ endpoint: flags.api, token: flags.token, ca: flags['api-ca'] ? readFileSync(flags['api-ca']) : undefined });
  }
}

/** The SERVICE BACKEND arguments of every `vadc backend` command. */
export const backendTargetArgs = {
  service: Args.string({ required: true, description: 'service name' }),
  backend: Args.string({ required: true, description: 'backend id (its vNIC selector, e.g. v-vm1)' }),
};
