import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ApiServer, apiListenersFromConfig, type ApiListenOptions } from '../api';
import { parseConfig, readConfigFileSync, type VadcConfig } from '../config';
import { redactSecrets, restoreSecrets, secretsOf } from '../config/secrets';
import { RuntimeWithHistory } from '../runtime/with-history';
import type { Logger } from '../util/logger';
import { VadcDaemon } from './daemon';
import { DEFAULT_LAB_CONFIG } from './default-config';
import { fdBudget, fdBudgetWarning, openFileLimit } from './fd-budget';

export interface ServeOptions {
  /** YAML file; undefined = the embedded default that serves the lab. */
  configPath?: string;
  /**
   * Where runtime changes (API/CLI: services, backends, weights, config apply) are kept so a restart
   * comes back the same. Default: next to the config file (`<file>.state.yaml`), or /var/lib/vadc.
   */
  statePath?: string;
  /** Control socket path (overrides the config's api.listen unix: path). */
  apiSocket?: string;
  listen?: string;
  ovsdb?: string;
  /** More control API listeners besides the configuration's (the demo's loopback dashboard listener). */
  extraListeners?: ApiListenOptions[];
  /** Overrides controller.ha.dir (the demo keeps its host election in its own temporary directory). */
  haDir?: string;
  /** Overrides the configuration's datapath NAT mode (and ovs-vswitchd's control socket: conntrack mode and auto use it). */
  nat?: { mode: VadcConfig['datapath']['nat']; appctl?: string };
  logger: Logger;
  /** Called with the configuration's `log:` section once it is read, before the daemon logs anything. */
  onLogConfig?: (log: VadcConfig['log']) => void;
}

export interface Served {
  daemon: VadcDaemon;
  /** The daemon with its status history: what the control API, metrics and dashboard serve. */
  runtime: RuntimeWithHistory;
  api: ApiServer;
  /** Where the effective configuration came from (file, state file, or embedded default). */
  source: string;
  /** The OpenFlow listen targets actually bound (port 0 resolved). */
  controllerTargets: string[];
  stop(): Promise<void>;
}

const STATE_HEADER = '# vadc runtime state: the configuration in force, with changes made through the API.';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Reads the effective configuration: the config file, unless a runtime state file written from that very
 * file (same hash) exists; a state file from an older version of the config file is ignored, because
 * the operator's edit is newer.
 */
export function effectiveConfigText(configText: string, statePath: string): { text: string; fromState: boolean; staleState: boolean } {
  if (!existsSync(statePath)) return { text: configText, fromState: false, staleState: false };
  const state = readConfigFileSync(statePath);
  const match = /^# source-sha256: ([0-9a-f]{64})$/m.exec(state);
  // The state file holds no secret: the config file's are filled in.
  if (match && match[1] === sha256(configText)) return { text: restoreSecrets(state, secretsOf(configText)), fromState: true, staleState: false };
  return { text: configText, fromState: false, staleState: true };
}

/** Writes the state file: mode 0600 (created so, never world-readable in between) and with secrets redacted. */
export function writeState(statePath: string, configText: string, effectiveText: string): void {
  mkdirSync(path.dirname(statePath), { recursive: true, mode: 0o700 });
  const body = redactSecrets(effectiveText).split('\n').filter((l) => !l.startsWith('# source-sha256:') && l !== STATE_HEADER).join('\n');
  const tmp = `${statePath}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, `${STATE_HEADER}\n# source-sha256: ${sha256(configText)}\n${body}`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, statePath);
}

/** A warning when a config file that holds a secret can be read by others than its owner (mode & 0o077). */
export function exposedSecretWarning(configPath: string, configText: string, mode: number): string | undefined {
  if (secretsOf(configText).apiToken === undefined || (mode & 0o077) === 0) return undefined;
  return `${configPath} holds api.token and is readable by others (mode 0${(mode & 0o777).toString(8)}): chmod 600 ${configPath}`;
}

/** Starts the daemon and its control API/metrics listeners; the caller keeps the process alive. */
export async function serve(opts: ServeOptions): Promise<Served> {
  const configText = opts.configPath ? readConfigFileSync(opts.configPath) : DEFAULT_LAB_CONFIG;
  const source = opts.configPath ?? 'embedded default (the lab)';
  const statePath = opts.statePath ?? (opts.configPath ? `${opts.configPath}.state.yaml` : '/var/lib/vadc/default.state.yaml');
  const chosen = effectiveConfigText(configText, statePath);
  const withOptions = (c: VadcConfig): VadcConfig => {
    let out = c;
    if (opts.ovsdb) out = { ...out, ovsdb: opts.ovsdb };
    if (opts.haDir) out = { ...out, controller: { ...out.controller, ha: { ...out.controller.ha, dir: opts.haDir } } };
    if (opts.nat) out = { ...out, datapath: { ...out.datapath, nat: opts.nat.mode, ...(opts.nat.appctl ? { appctl: opts.nat.appctl } : {}) } };
    return out;
  };
  const config = withOptions(parseConfig(chosen.text, chosen.fromState ? statePath : source));
  opts.onLogConfig?.(config.log);
  // A controller pair is named by the file's configuration: runtime changes (kept in the state file, shared by the
  // pair) must not part an instance from its peer when it restarts.
  const fileConfig = chosen.fromState ? withOptions(parseConfig(configText, source)) : config;
  const daemon = new VadcDaemon({
    config, configText: chosen.text, fileConfig, logger: opts.logger, listen: opts.listen ? [opts.listen] : undefined, configPath: opts.configPath,
    ha: { api: opts.apiSocket ? `unix:${opts.apiSocket}` : config.api?.listen },
  });
  if (chosen.fromState) daemon.emitEvent({ kind: 'state_loaded', level: 'info', message: `runtime changes restored from ${statePath}` });
  if (chosen.staleState) daemon.emitEvent({ kind: 'state_ignored', level: 'warn', message: `${statePath} was written from an older ${source}; using the file as it is now` });
  const exposed = opts.configPath && exposedSecretWarning(opts.configPath, configText, statSync(opts.configPath).mode);
  if (exposed) daemon.emitEvent({ kind: 'config_secret_exposed', level: 'warn', message: exposed });
  daemon.bus.on('config', (text: string) => {
    try {
      writeState(statePath, configText, text);
    } catch (err) {
      daemon.emitEvent({ kind: 'state_write_failed', level: 'error', message: `could not persist runtime changes to ${statePath}: ${(err as Error).message}` });
    }
  });
  const controllerTargets = await daemon.start();
  const listeners = [...apiListenersFromConfig(config, opts.apiSocket), ...(opts.extraListeners ?? [])];
  const runtime = new RuntimeWithHistory(daemon).start();
  let api: ApiServer;
  try {
    api = await ApiServer.start({ runtime, listen: listeners, logger: opts.logger });
  } catch (err) {
    runtime.stop();
    await daemon.stop();
    throw err;
  }
  daemon.onDecision((s) => api.metrics.observeDecisionLatency(s));
  daemon.emitEvent({ kind: 'api_listening', level: 'info', message: `control API on ${api.endpoints.join(', ')}` });
  const controlListeners = listeners.filter((l) => l.role !== 'metrics').length;
  const fdWarning = fdBudgetWarning(fdBudget(config.limits, controlListeners, config.metrics !== undefined), openFileLimit());
  if (fdWarning) daemon.emitEvent({ kind: 'fd_budget', level: 'warn', message: fdWarning });
  return {
    daemon, runtime, api, source, controllerTargets,
    async stop() {
      runtime.stop();
      await api.close();
      await daemon.stop();
    },
  };
}
