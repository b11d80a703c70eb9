// The daemon's link to the local OVSDB: one long-lived session (src/ovsdb's OvsdbClient.open: backoff, a
// connection that fails its handshake is closed before the next attempt, monitors resumed), the vSwitch
// cache and the vNIC resolver on top, and one event per outage and per recovery.
import type { NatModeName, VadcConfig } from '../config';
import {
  backoffDelay, type BackoffPolicy, ensureZoneTimeoutPolicy, OvsdbClient, VSWITCHD_APPLY_WAIT_MS, planEgressQos, type DesiredEgressQos, type CacheEvent, VnicResolver, VswitchCache, type InterfaceRow, type OvsdbClientOptions, type SessionState, type TlsFiles, type VnicInfo,
} from '../ovsdb';
import type { VadcEvent } from '../runtime/types';
import type { Logger } from '../util/logger';

export interface OvsdbLinkOptions {
  config: VadcConfig;
  /** The NAT mode that runs (`auto` resolved): conntrack mode gives its zone a timeout policy. */
  nat: NatModeName;
  logger: Logger;
  emit: (event: Omit<VadcEvent, 'time'>) => void;
  /** The vNIC selectors to watch now (the configuration may change). */
  selectors: () => string[];
  /** What OVSDB says of a watched vNIC (undefined: gone). */
  onVnic: (selector: string, info: VnicInfo | undefined) => void;
  /** OVSDB's Interface rows, when the first rows are in and after every change to them (VMs that join by tag). */
  onInterfaces?: (rows: InterfaceRow[]) => void;
  /** The first rows are in: vNIC absence is a fact from now on. */
  onReady: () => void;
  /** The egress QoS rows vadc should own now (undefined: none); the link keeps OVSDB in line with it. */
  egress?: () => DesiredEgressQos | undefined;
  /** Session settings beyond the defaults (tests shorten the backoff). */
  session?: Partial<OvsdbClientOptions>;
  /** Pauses between retries of a failed egress write (default EGRESS_RETRY; tests shorten them). */
  egressRetry?: BackoffPolicy;
}

/**
 * A failed write of the egress QoS/Queue rows is retried after 1 s, doubling to at most a minute (+-25 %): soon
 * enough for a passing fault (a reconnect, a busy server), and a server that keeps refusing gets one attempt a
 * minute, with one event when it starts failing and one when it recovers.
 */
export const EGRESS_RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, jitter: 0.25 };

export class OvsdbLink {
  private readonly client: OvsdbClient;
  private resolver?: VnicResolver;
  private cache?: VswitchCache;
  private closed = false;
  /** Egress sync: one transaction at a time; a request meanwhile runs once more after it. */
  private egressRunning = false;
  private egressAgain = false;
  /** The last egress problem reported (each is reported once, until it changes or goes). */
  private egressProblem = '';
  /** Egress writes failed in a row (0: the last one succeeded), and the retry waiting for its time. */
  private egressFailures = 0;
  private egressRetryTimer: NodeJS.Timeout | undefined;
  private readonly watching = new Set<string>();

  constructor(private readonly opts: OvsdbLinkOptions) {
    const { config } = opts;
    const tls = ovsdbTls(config);
    this.client = OvsdbClient.open(config.ovsdb, { database: 'Open_vSwitch', logger: opts.logger, ...(tls ? { tls } : {}), ...opts.session });
    // One event per outage and one per recovery: the session retries with backoff in between.
    this.client.on('disconnected', (err?: Error) => opts.emit({
      kind: 'ovsdb_unreachable', level: 'warn',
      message: `OVSDB ${config.ovsdb}: ${err?.message ?? 'connection lost'}; vNICs are found by OpenFlow port name until it answers (retrying with backoff)`,
    }));
    this.client.on('connected', (info: { remote: string; resumed: number; reloaded: number }) => {
      opts.emit({
        kind: 'ovsdb_connected', level: 'info', data: { remote: info.remote, resumed: info.resumed, reloaded: info.reloaded },
        message: `OVSDB ${info.remote} connected; watching ${opts.selectors().length} vNIC(s)`,
      });
      void this.applyZoneTimeouts();
    });
    VswitchCache.start(this.client).then((cache) => {
      if (this.closed) return;
      this.resolver = new VnicResolver(cache);
      this.cache = cache;
      for (const kind of ['appear', 'change', 'move', 'disappear'] as const) this.resolver.on(kind, (e: { spec: string; new?: VnicInfo }) => opts.onVnic(e.spec, e.new));
      this.watch();
      // After the resolver (which listens first): a tagged vNIC's backend is watched from the serve this causes.
      cache.on('changed', (events) => {
        if (!this.closed && events.some(identityChanged)) opts.onInterfaces?.([...cache.rows('Interface').values()]);
        // Someone else's change to a port's QoS or to vadc's rows: vadc's rows are put back as configured.
        if (!this.closed && events.some((e) => e.table === 'QoS' || e.table === 'Queue' || (e.table === 'Port' && e.old?.qos !== e.new?.qos))) this.syncEgress();
      });
      opts.onInterfaces?.([...cache.rows('Interface').values()]);
      opts.onReady();
      this.syncEgress();
    }, (err: Error) => {
      if (!this.closed) opts.emit({ kind: 'ovsdb_monitor_failed', level: 'error', message: `OVSDB ${config.ovsdb}: the vSwitch monitor was refused: ${err.message}` });
    });
  }

  /** True only while a connection is usable (its handshake and monitors succeeded). */
  get connected(): boolean {
    return this.client.connected;
  }

  get state(): SessionState {
    return this.client.state;
  }

  /** The first rows are in (the resolver answers for every vNIC). */
  get ready(): boolean {
    return this.resolver !== undefined;
  }

  /**
   * Tells the daemon what OVSDB knows of every configured vNIC now (the resolver keeps watching them), and stops
   * watching those no longer configured (a tagged VM that left): what vadc follows stays what it serves.
   */
  watch(): void {
    if (!this.resolver) return;
    const selectors = new Set(this.opts.selectors());
    for (const selector of this.watching) {
      if (selectors.has(selector)) continue;
      this.resolver.unwatch(selector);
      this.watching.delete(selector);
      this.opts.onVnic(selector, undefined);
    }
    for (const selector of selectors) {
      this.watching.add(selector);
      this.opts.onVnic(selector, this.resolver.watch(selector));
    }
  }

  /**
   * Makes OVSDB hold the egress QoS rows the configuration asks for now (planEgressQos: vadc's rows only; a port
   * with someone else's QoS is reported, not touched). Called on every configuration change and row change, and
   * by the retry after a failed write (a change meanwhile runs at once instead of waiting for it).
   */
  syncEgress(): void {
    if (!this.opts.egress || !this.cache || this.closed) return;
    clearTimeout(this.egressRetryTimer);
    this.egressRetryTimer = undefined;
    if (this.egressRunning) {
      this.egressAgain = true;
      return;
    }
    this.egressRunning = true;
    void this.runEgressSync().finally(() => {
      this.egressRunning = false;
      if (this.egressAgain) {
        this.egressAgain = false;
        this.syncEgress();
      }
    });
  }

  private async runEgressSync(): Promise<void> {
    const cache = this.cache!;
    const desired = this.opts.egress!();
    const plan = planEgressQos(desired, { ports: cache.rows('Port').values(), qos: cache.rows('QoS').values(), queues: cache.rows('Queue').values() });
    const problem = plan.problem?.message ?? '';
    if (problem !== this.egressProblem) {
      this.egressProblem = problem;
      if (plan.problem) this.opts.emit({ kind: 'egress_qos_refused', level: 'error', data: { ...plan.problem }, message: plan.problem.message });
    }
    if (plan.ops.length === 0) {
      // Nothing to write (someone put the rows right, or the configuration no longer needs the failed write).
      if (!plan.problem) this.egressRecovered();
      this.egressFailures = 0;
      return;
    }
    try {
      await this.client.transact('Open_vSwitch', plan.ops);
      this.egressRecovered();
      this.egressFailures = 0;
      const what = desired ? `${desired.queues.length} queue(s) on port ${desired.port} (${desired.type})` : 'none: the QoS and Queue rows vadc owned are removed';
      this.opts.emit({ kind: 'egress_qos_applied', level: 'info', data: { port: desired?.port ?? null, queues: desired?.queues.length ?? 0 }, message: `egress queues: ${what}` });
    } catch (err) {
      if (this.closed) return;
      this.egressFailures++;
      const delay = backoffDelay(this.egressFailures, this.opts.egressRetry ?? EGRESS_RETRY);
      // One event per run of failures: the retries that follow fail quietly (a debug line each) until one succeeds.
      if (this.egressFailures === 1) {
        const max = (this.opts.egressRetry ?? EGRESS_RETRY).maxMs / 1000;
        this.opts.emit({
          kind: 'egress_qos_failed', level: 'error', data: { error: (err as Error).message },
          message: `could not write the egress QoS rows: ${(err as Error).message}; retrying with backoff (up to every ${max} s) until it succeeds`,
        });
      } else {
        this.opts.logger.debug(`egress QoS write failed again (${this.egressFailures} in a row): ${(err as Error).message}; next try in ${delay} ms`);
      }
      this.egressRetryTimer = setTimeout(() => this.syncEgress(), delay);
      this.egressRetryTimer.unref();
    }
  }

  /** After a run of failed writes: one event saying the rows are written now. */
  private egressRecovered(): void {
    if (this.egressFailures === 0) return;
    this.opts.emit({
      kind: 'egress_qos_recovered', level: 'info', data: { failures: this.egressFailures },
      message: `the egress QoS rows are in line with the configuration again, after ${this.egressFailures} failed write(s)`,
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.egressRetryTimer);
    this.resolver?.dispose();
    this.client.close();
  }

  /** Conntrack mode: vadc's zone gets its timeout policy (short close states), once per OVSDB connection. */
  private async applyZoneTimeouts(): Promise<void> {
    const dp = this.opts.config.datapath;
    const timeouts = Object.fromEntries(Object.entries(dp.ct_timeouts).filter((e): e is [string, number] => e[1] !== undefined));
    if (this.opts.nat !== 'conntrack' || Object.keys(timeouts).length === 0) return;
    const text = Object.entries(timeouts).map(([k, v]) => `${k}=${v}`).join(' ');
    try {
      const { changed, unconfirmed } = await ensureZoneTimeoutPolicy(this.client, dp.ct_zone, timeouts);
      this.opts.emit({
        kind: 'ct_timeouts_applied', level: unconfirmed.length ? 'warn' : 'info', data: { zone: dp.ct_zone, changed, unconfirmed },
        message: `conntrack zone ${dp.ct_zone} timeout policy ${text}: ${changed.length ? `set on datapath ${changed.join(', ')}` : 'already in the database'}, `
          + `handed to ovs-vswitchd again${unconfirmed.length ? ` (it did not confirm on ${unconfirmed.join(', ')} within ${VSWITCHD_APPLY_WAIT_MS / 1000} s: is it running?)` : ''}`,
      });
    } catch (err) {
      if (this.closed) return;
      this.opts.emit({ kind: 'ct_timeouts_failed', level: 'error', message: `could not set conntrack zone ${dp.ct_zone}'s timeout policy (${text}): ${(err as Error).message}` });
    }
  }
}

/** OVSDB ssl: remotes (the switch's and the cluster store's) use the controller's certificate, key and CA. */
export function ovsdbTls(config: VadcConfig): TlsFiles | undefined {
  const ssl = config.controller.ssl;
  return ssl && { privateKey: ssl.key, certificate: ssl.cert, caCert: ssl.ca };
}

/**
 * An interface came, went, or changed what tags read (its name or external_ids): not its statistics, which
 * ovs-vswitchd rewrites every few seconds for every interface.
 */
function identityChanged(e: CacheEvent): boolean {
  if (e.table !== 'Interface') return false;
  if (!e.old || !e.new) return true;
  return e.old.name !== e.new.name || JSON.stringify(e.old.externalIds) !== JSON.stringify(e.new.externalIds);
}

/** OVSDB's view of a vNIC as the app takes it (app.setVnic): down when its link or its admin state is. */
export function toAppVnic(info: VnicInfo | undefined) {
  if (!info) return undefined;
  const down = info.linkState === 'down' || info.adminState === 'down';
  return { name: info.name, mac: info.externalIds['attached-mac']?.toLowerCase(), up: !down };
}
