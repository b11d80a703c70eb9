// The daemon's side of the OpenFlow controller's switch events: the app's answers plus what the daemon does around
// them (events, the restore of the connections a switch's datapath kept, a takeover's replay of the packet-ins held
// as a standby, the meter sweep, health's view of locations, the decision-latency observers).
import { asControllerApp, type LoadBalancerApp, type SwitchBatch } from '../app';
import type { Controller } from '../controller';
import { PACKET_IN_RING_BOUNDS } from '../controller/packet-in-ring';
import type { ControllerApp, OutboundMessage, SwitchInfo } from '../controller/types';
import { buildFlowStatsRequest } from '../flows/builders';
import { parseCookie, type CookieKind } from '../flows/cookies';
import { OFPM_ALL } from '../openflow/constants';
import { formatDpid } from '../openflow/dpid';
import type { PacketIn, PortStatus } from '../openflow/types';
import type { VadcEvent } from '../runtime/types';
import type { Logger } from '../util/logger';
import type { AccountingReader } from './accounting-readers';
import type { HealthBridge } from './health-bridge';
import { restoreWithRetries } from './restore-retry';
import type { TableZeroWatch } from './table-zero-watch';

/**
 * How long after this instance became a switch's master it sweeps the switch's meters (onMastership): after the
 * first packet-ins of a takeover were answered.
 */
export const TAKEOVER_READS_AFTER_MS = 200;

/** What the switch hooks use of the daemon. */
export interface SwitchHooksOptions {
  app: LoadBalancerApp;
  controller: Controller;
  accounting: AccountingReader;
  health: HealthBridge;
  tableZero?: TableZeroWatch;
  log: Logger;
  now: () => number;
  emitEvent(partial: Omit<VadcEvent, 'time'>): void;
  /** Sends what an app input caused, switch by switch (to the switches that are up). */
  deliver(batches: SwitchBatch[]): void;
  send(dpid: bigint, msgs: OutboundMessage[]): void;
  /** Whether the daemon is stopping (nothing more is read or sent). */
  stopped(): boolean;
  /** vNIC absence is a fact once a switch has reported its ports and OVSDB has answered (the daemon's afterDiscovery). */
  afterDiscovery(): void;
  /** Called with each decision's latency in seconds (the daemon's list, which grows after the hooks are made). */
  decisionObservers: readonly ((seconds: number) => void)[];
  /** An end copy asks for an accounting reading now (the statistics poller's readSoon). */
  readingWanted?(): void;
}

/** The controller's view of the app, with what the daemon does around it (events, restore, health). */
export class SwitchHooks {
  /** Per connection: when the switch answered the barrier after the connect's (or mastership's) batch. */
  private readonly synced = new WeakMap<SwitchInfo, number>();

  constructor(private readonly o: SwitchHooksOptions) {}

  /** When `sw` (this connection) confirmed it holds vadc's flows: the barrier after the batch answered; undefined before. */
  flowsSyncedAt(sw: SwitchInfo): number | undefined {
    return this.synced.get(sw);
  }

  controllerApp(): ControllerApp {
    const o = this.o;
    const base = asControllerApp(o.app, (dpid, msgs) => o.send(dpid, msgs), () => o.readingWanted?.());
    return {
      onSwitchUp: (sw: SwitchInfo, now: number) => {
        o.emitEvent({ kind: 'switch_up', level: 'info', dpid: formatDpid(sw.dpid), message: `switch ${formatDpid(sw.dpid)} connected from ${sw.address} with ${sw.ports.size} ports` });
        // The connect's batch goes out first, ahead of anything the rest of this turn sends to the switch (the readings
        // below, and afterDiscovery: a verdict that the backends are back adds its service's group and decision flow).
        // Returned, it reached the switch after them, and its delete of every decision flow took theirs away while the
        // app counted them installed: new connections went to the controller until the next change of the service.
        o.send(sw.dpid, base.onSwitchUp(sw, now) ?? []);
        // A standby's batch is withheld: its flows are confirmed after its mastership's.
        if (!o.controller.switch(sw.dpid)?.role) void this.confirmSync(sw);
        // Without roles this connection writes at once, and the controller holds its packet-ins until the replay
        // after the restore (a new connection decided before it could take a connection id the last run's flows
        // carry); with roles a standby's reading, and the takeover's replay comes after the takeover's own reading.
        if (o.controller.switch(sw.dpid)?.role) void this.restore(sw.dpid);
        else void this.restoreThenReplay(sw.dpid);
        void this.sweepMeters(sw.dpid);
        void this.sweepGroups(sw.dpid);
        void this.sweepFlows(sw.dpid);
        // After the switch has our flows (and another controller its own) a moment: the first look at table 0.
        if (o.tableZero) setTimeout(() => void o.tableZero?.poll(), 1000).unref();
        o.afterDiscovery();
        return [];
      },
      onMastership: (sw: SwitchInfo, now: number) => {
        // First, as on connect (above).
        o.send(sw.dpid, base.onMastership(sw, now) ?? []);
        void this.confirmSync(sw);
        // Counts from what the datapath carries now (flows by cookie or the tracker; never a wipe), read at once (after
        // this turn's write): the packet-ins held as a standby are replayed after it, so that a connection the old
        // master placed is known and not decided again. Packet-ins arriving meanwhile join them (the controller's
        // holdAfterMastershipMs): decided before the reading, a new connection could take a connection id the old
        // master's flows still carry. The meter sweep comes TAKEOVER_READS_AFTER_MS later.
        setImmediate(() => void this.takeOver(sw.dpid));
        setTimeout(() => {
          if (o.stopped() || !o.controller.switch(sw.dpid)?.role?.isMaster) return;
          void this.sweepMeters(sw.dpid);
          void this.sweepGroups(sw.dpid);
          void this.sweepFlows(sw.dpid);
        }, TAKEOVER_READS_AFTER_MS).unref();
        o.afterDiscovery();
        return [];
      },
      onSwitchDown: (dpid: bigint, now: number) => {
        base.onSwitchDown(dpid, now);
        o.health.observeLocations();
      },
      onPacketIn: (sw: SwitchInfo, msg: PacketIn, now: number) => {
        if (!o.decisionObservers.length) return base.onPacketIn(sw, msg, now);
        const t0 = process.hrtime.bigint();
        const msgs = base.onPacketIn(sw, msg, now);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        for (const observe of o.decisionObservers) observe(seconds);
        return msgs;
      },
      onFlowRemoved: base.onFlowRemoved,
      onPortStatus: (sw: SwitchInfo, msg: PortStatus, now: number) => {
        // The app's view of the port and health's verdict on it (a backend's link went down) as one input.
        o.health.moved(() => o.app.portStatus(sw, msg, now));
        return [];
      },
      onError: (sw: SwitchInfo, msg) => {
        o.emitEvent({ kind: 'switch_error', level: 'warn', dpid: formatDpid(sw.dpid), message: `switch ${formatDpid(sw.dpid)} reported error type ${msg.errType} code ${msg.code ?? '-'}` });
        return [];
      },
    };
  }

  /**
   * A barrier behind the batch just sent: the switch answers it once it has applied every flow-mod before it, so
   * "up" in status (the switch is listed) is not taken for "holds the flows" (flowsSyncedAt; a probe sent between
   * the two met a table without the VIP's flows: docs/benchmarks.md, reattach).
   */
  private async confirmSync(sw: SwitchInfo): Promise<void> {
    try {
      await this.o.controller.barrier(sw.dpid);
      if (this.o.controller.switch(sw.dpid) === sw) this.synced.set(sw, this.o.now());
    } catch (err) {
      this.o.log.debug(`barrier after the connect's flows, ${formatDpid(sw.dpid)}: ${(err as Error).message}`);
    }
  }

  /**
   * This instance became a switch's master: re-track the connections the datapath holds (the old master's), then
   * replay the packet-ins held as a standby that belong to none of them (the old master never answered those; their
   * clients would retransmit only after a second). The replay is reported when anything was held.
   */
  private async takeOver(dpid: bigint): Promise<void> {
    if (this.o.stopped() || !(await this.restore(dpid)) || this.o.stopped()) return;
    const report = this.o.controller.replayHeldPacketIns(dpid, (_sw, msg) => this.o.app.heldVerdict(msg));
    const masterSince = this.o.controller.switch(dpid)?.role?.since;
    // Nothing held (a lone instance's first mastership): nothing to report.
    if (!report || masterSince === undefined || report.replayed + report.ends + report.known + report.tooOld + report.dropped === 0) return;
    const sw = formatDpid(dpid);
    this.o.emitEvent({
      kind: 'takeover_replay', level: 'info', dpid: sw, data: { ...report, afterMasterMs: this.o.now() - masterSince },
      message: `switch ${sw}: replayed ${report.replayed} packet-in(s) held as the standby (and ${report.ends} connection-end copies); skipped ${report.known} of connections the old master placed and ${report.tooOld} too old${report.dropped ? `; ${report.dropped} more were pushed out of the ring (over ${PACKET_IN_RING_BOUNDS.maxCount} packet-ins in its last ${PACKET_IN_RING_BOUNDS.maxAgeMs / 1000} s)` : ''}`,
    });
  }

  /** Without roles: the restore, then the packet-ins the controller held since the switch connected. */
  private async restoreThenReplay(dpid: bigint): Promise<void> {
    if (this.o.stopped() || !(await this.restore(dpid)) || this.o.stopped()) return;
    this.o.controller.replayHeldPacketIns(dpid, (_sw, msg) => this.o.app.heldVerdict(msg));
  }

  /** Re-track the connections the datapath kept through our restart (never wipe on connect); a failed reading is retried. */
  private async restore(dpid: bigint): Promise<boolean> {
    return restoreWithRetries({
      attempt: async () => {
        // When it was asked for: a connection whose flow_removed comes after this is not re-tracked from the reading.
        const askedAt = this.o.now();
        const input = await this.o.accounting.forRestore(dpid);
        this.o.deliver(this.o.app.restore(dpid, { ...input, askedAt: input.askedAt ?? askedAt }, this.o.now()));
      },
      goOn: () => !this.o.stopped() && this.o.controller.switch(dpid) !== undefined,
      onFailure: (err, retryInMs) => this.o.emitEvent({
        kind: 'restore_failed', level: 'error', dpid: formatDpid(dpid),
        message: `could not read connections back: ${err.message}${retryInMs !== undefined ? `; trying again in ${retryInMs / 1000} s` : ''}`,
      }),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
    });
  }

  /**
   * Reads the switch's groups; vadc's select groups the configuration does not want there go (an earlier run's: a
   * service gone, or no longer deciding in the datapath). The answer is judged against what the app installed by the
   * time it comes (the connect's batch re-adds the wanted groups under the same ids), so a reading taken before or
   * after that batch deletes only strays.
   */
  private async sweepGroups(dpid: bigint): Promise<void> {
    try {
      const reply = await this.o.controller.request(dpid, { type: 'multipart_request', xid: 0, flags: 0, body: { mpType: 'group_desc' } });
      if (reply.body.mpType !== 'group_desc') return;
      this.o.deliver(this.o.app.groupsFound(dpid, reply.body.entries.map((e) => e.groupId)));
    } catch (err) {
      // A switch without groups answers with an error: it has none of ours either.
      this.o.log.debug(`group read of ${formatDpid(dpid)}: ${(err as Error).message}`);
    }
  }

  /**
   * Reads the switch's service flows (cookie kind `service`: a few per service, never per connection) and its VIP flows
   * (kind `vip`, a few per VIP), each on its own: every flow of a service id the configuration does not have goes, and
   * every VIP flow whose VIP tag no configured VIP has (an earlier run's services and VIPs, removed while vadc was away;
   * src/app/sweeps.ts). Judged against the configuration when each answer comes (a service or VIP added meanwhile has
   * its flows and its id or tag), so a reading taken before or after the connect's batch deletes only strays.
   */
  private async sweepFlows(dpid: bigint): Promise<void> {
    await Promise.all([
      this.readCookies(dpid, 'service', (cookies) => this.o.app.serviceFlowsFound(dpid, cookies.flatMap((c) => {
        const parts = parseCookie(c);
        return parts?.kind === 'service' ? [parts.serviceId] : [];
      }))),
      this.readCookies(dpid, 'vip', (cookies) => this.o.app.vipFlowsFound(dpid, cookies)),
    ]);
  }

  /** Reads the cookies of the switch's flows of one kind and delivers what `found` makes of them. */
  private async readCookies(dpid: bigint, kind: CookieKind, found: (cookies: bigint[]) => SwitchBatch[]): Promise<void> {
    try {
      const reply = await this.o.controller.request(dpid, buildFlowStatsRequest(kind));
      if (reply.body.mpType !== 'flow') return;
      this.o.deliver(found(reply.body.entries.map((e) => e.cookie)));
    } catch (err) {
      this.o.log.debug(`${kind} flow read of ${formatDpid(dpid)}: ${(err as Error).message}`);
    }
  }

  /** Reads the switch's meters; vadc's egress meters that nothing holds any more go (an earlier run's, or removed while it was away). */
  private async sweepMeters(dpid: bigint): Promise<void> {
    try {
      const reply = await this.o.controller.request(dpid, { type: 'multipart_request', xid: 0, flags: 0, body: { mpType: 'meter_config', meterId: OFPM_ALL } });
      if (reply.body.mpType !== 'meter_config') return;
      this.o.deliver(this.o.app.metersFound(dpid, reply.body.entries.map((e) => e.meterId)));
    } catch (err) {
      // A switch without meters answers with an error: it has none of ours either.
      this.o.log.debug(`meter read of ${formatDpid(dpid)}: ${(err as Error).message}`);
    }
  }
}
