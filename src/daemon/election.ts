// Controller HA: which election a daemon runs, chosen once from the config (docs/operators/run-a-pair.md).
//   host     - files and an flock on this host (./host-election.ts);
//   cluster  - an OVSDB lock and a Controller_Pair row in the cluster store (./cluster-election.ts);
//   auto     - cluster when the config has a `cluster:` section, host otherwise;
//   none     - no election: the controller stays EQUAL at every switch.
// Both elections answer the same questions, so the daemon and the controller never ask which one runs.
import path from 'node:path';
import type { VadcConfig } from '../config';
import type { RoleAuthority } from '../controller/controller';
import type { OvsdbClientOptions, TlsFiles } from '../ovsdb';
import type { Logger } from '../util/logger';
import { ClusterElection } from './cluster-election';
import { HostElection, pairKey } from './host-election';
import type { OutbidVerdict } from './outbid';
import { PairConfigFile, type PairConfigChannel } from './pair-config';

export type { OutbidVerdict } from './outbid';

export type ElectionChange =
  | { kind: 'promoted'; generation: bigint; reason: string }
  | { kind: 'fenced'; generation: bigint; by: string; reason: string }
  | { kind: 'standby'; master?: string };

export interface ElectionStatus {
  /** Which election runs: files on this host, or the cluster store's lock. */
  election: 'host' | 'cluster';
  role: 'master' | 'standby';
  generation: string;
  instance: string;
  /** The master (when standby) or the last standby seen (when master); absent when alone. */
  peer?: string;
  /** The master's control API as it published it (when standby and it published one): where changes are made. */
  masterApi?: string;
  /**
   * The master this instance last stood by for, seen live by the election (not a dead or resigned record found at
   * start): the one whose published configuration a promotion adopts (./pair-config.ts).
   */
  stoodBy?: string;
  key: string;
  /** Where the election is held: the host's directory, or the cluster store's remotes. */
  where: string;
}

/** What the daemon needs of an election, whichever it is. */
export interface ControllerElection extends RoleAuthority {
  /** Starts competing; resolves once the first verdict is known (a lone instance is master by then). */
  start(): Promise<void>;
  /** Resigns (a graceful stop): a standby takes over at once. A promise: settled once the election's own processes are gone. */
  stop(): void | Promise<void>;
  /** Looks again now (a switch said another controller took over). */
  check(): void;
  /**
   * A switch refused this master's generation as stale, knowing `switchGeneration`, while the election still names
   * this instance master: that generation was never this election's (its files or row were lost, or the pair moved
   * from the host election to the cluster's). Takes a generation past it, under the election's own guard (the claim
   * file, the store's lock), so a pair never outbids its own peer. Bounded: see OutbidBudget.
   */
  outbid(switchGeneration: bigint): OutbidVerdict;
  status(): ElectionStatus;
  /** Where the pair's master publishes its configuration for the standby (./pair-config.ts); absent: not shared. */
  readonly configChannel?: PairConfigChannel;
}

export interface ElectionOptions {
  config: VadcConfig;
  /** The configuration that names the pair (the file's, without runtime changes); default `config`. */
  pairConfig?: VadcConfig;
  /** This instance's OpenFlow listen target (names it to its peer). */
  listen: string;
  /** This instance's control API, shown to its peer. */
  api?: string;
  logger: Logger;
  now: () => number;
  onChange: (change: ElectionChange) => void;
  /** The cluster store's TLS files and session settings (cluster election). */
  tls?: TlsFiles;
  clusterSession?: Partial<OvsdbClientOptions>;
}

/** The election the config asks for, or undefined for none. */
export function createElection(opts: ElectionOptions): ControllerElection | undefined {
  const { config } = opts;
  const ha = config.controller.ha;
  const kind = ha.election === 'auto' ? (config.cluster ? 'cluster' : 'host') : ha.election;
  if (kind === 'none') return undefined;
  const key = pairKey(opts.pairConfig ?? config);
  // A cluster pair shares its configuration through its row in the store (the two instances may run on two
  // machines); a host pair through a file beside its election record in controller.ha.dir.
  if (kind === 'cluster') {
    if (!config.cluster) throw new Error('controller.ha.election: cluster needs a cluster: section'); // the config rules refuse it first
    return new ClusterElection({
      remotes: config.cluster.remotes, key, listen: opts.listen, api: opts.api, staleMs: ha.takeover_after, logger: opts.logger, now: opts.now,
      onChange: opts.onChange, tls: opts.tls, session: opts.clusterSession,
    });
  }
  const configChannel = new PairConfigFile(path.join(ha.dir, `vadc-${key}`), (message) => opts.logger.error(`election: ${message}`));
  return new HostElection({
    dir: ha.dir, key, listen: opts.listen, api: opts.api, staleMs: ha.takeover_after, beatMs: Math.floor(ha.takeover_after / 10),
    logger: opts.logger, now: opts.now, onChange: opts.onChange, configChannel,
  });
}
