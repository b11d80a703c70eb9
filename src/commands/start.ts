import { Flags } from '@oclif/core';
import { BaseCommand, LOG_LEVELS } from '../cli/base-command';
import { serve } from '../daemon/serve';
import { notifySystemd } from '../daemon/sd-notify';
import { createLogger, daemonLogSettings, reconfigureLogger } from '../util/logger';

export default class StartCommand extends BaseCommand<typeof StartCommand> {
  static override summary = 'Run the vadc daemon in the foreground: OpenFlow controller, load balancer, health checks, control API.';
  static override description = `Without --config it serves the default lab (see \`vadc lab up\`).
Runtime changes made through the API (vadc service/backend/config apply) are kept in a state file next to the
config file (--state) and restored on restart, as long as the config file itself is unchanged.
Logs are JSON on stderr unless stderr is a terminal. Stop with Ctrl-C or SIGTERM: flows stay in the switch
(fail_mode=secure) and a restarted vadc reads its connections back, so established connections keep flowing.`;
  static override examples = [
    '<%= config.bin %> start --config /etc/vadc/vadc.yaml',
    '<%= config.bin %> start                       # serves the default lab',
    '<%= config.bin %> start --config vadc.yaml --listen tcp:0.0.0.0:6653 --api-socket /run/vadc/vadc.sock',
  ];
  static override enableJsonFlag = false;
  static override flags = {
    config: Flags.file({ description: 'vadc configuration file (YAML)', exists: true }),
    state: Flags.string({ description: 'runtime state file (default: <config>.state.yaml)' }),
    'api-socket': Flags.string({ description: 'control API unix socket (default /run/vadc/vadc.sock, or the config\'s api.listen)' }),
    listen: Flags.string({ description: 'OpenFlow listen target, overrides controller.listen (tcp:HOST:PORT or ssl:HOST:PORT)' }),
    ovsdb: Flags.string({ description: 'OVSDB target, overrides the config (unix:PATH, tcp:HOST:PORT, ssl:HOST:PORT)' }),
    'log-format': Flags.option({ options: ['json', 'text'] as const, description: 'log format (default: the config\'s log.format; text on a terminal, else JSON)' })(),
    // The daemon's own default is the config's log.level, else info (the other commands default to warn).
    'log-level': Flags.option({ options: LOG_LEVELS, description: 'log detail (default: VADC_LOG_LEVEL, the config\'s log.level, else info)', helpGroup: 'GLOBAL' })(),
  };

  public async run(): Promise<void> {
    const flags = { level: this.flags['log-level'], format: this.flags['log-format'] };
    const logger = createLogger(daemonLogSettings(flags, undefined));
    const served = await serve({
      configPath: this.flags.config, statePath: this.flags.state, apiSocket: this.flags['api-socket'],
      listen: this.flags.listen, ovsdb: this.flags.ovsdb, logger,
      onLogConfig: (log) => reconfigureLogger(logger, daemonLogSettings(flags, log)),
    });
    logger.info(`vadc serving ${served.source}; API ${served.api.endpoints.join(', ')}`);
    notifySystemd({ ready: true, status: `serving ${served.source}; API ${served.api.endpoints.join(', ')}` }, logger);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info(`${signal}: stopping (flows stay in the switch)`);
        resolve();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    notifySystemd({ stopping: true, status: 'stopping (flows stay in the switch)' }, logger);
    await served.stop();
  }
}
