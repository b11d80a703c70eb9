// What status, the API, metrics and the dashboard show, read off the app, the health module and the poller.
import type { LoadBalancerApp, PayloadState } from '../app';
import { configuredAddress } from '../app/nat/common';
import { PORT_OUT_HEALTH, PORT_OUT_HEALTH_IPV4, PORT_OUT_HEALTH_IPV6, PORT_OUT_OUTLIER, type Backend } from '../lb/backend';
import { connAddresses } from '../lb/conn-key';
import { formatEndpoint } from '../net/endpoint';
import { formatDpid } from '../openflow/dpid';
import type { Controller } from '../controller';
import { allVadcFlows } from '../flows';
import { OFPG_ANY, OFPP_ANY, OFPTT_ALL } from '../openflow/constants';
import type { BackendStatus, ConnectionStatus, FlowStatus, PayloadRulesStatus, ServiceStatus, StatusSnapshot } from '../runtime/types';
import type { ControllerElection } from './election';
import { describeActions, describeMatch } from './flow-text';
import type { HealthBridge } from './health-bridge';
import type { ReadingFigures, StatsPoller } from './stats-poller';

/** `taggedOn(service, backend)`: the interface a tagged backend was found on (VMs that join by tag). */
export function serviceStatuses(
  app: LoadBalancerApp, health: HealthBridge, stats: StatsPoller, taggedOn: (service: string, backend: string) => string | undefined = () => undefined,
  egressQueueOf: (vnic: string) => number | undefined = () => undefined,
): ServiceStatus[] {
  return app.serviceStates().map((s) => {
    const backends: BackendStatus[] = [...s.backends.values()].map((b) => {
      const lb = s.lb.backendById(b.config.name);
      // A remote backend's verdict is its host's (published in the store), not this host's monitor's.
      const remote = b.location?.remoteHost !== undefined ? b.remote : undefined;
      const monitored = remote ? { health: remote.health, reason: `host ${remote.host}: ${remote.reason || remote.health}` } : health.stateOf(s.config.name, b.config.name);
      const state: BackendStatus['health'] = b.draining
        ? (lb && lb.totalConns === 0 ? 'drained' : 'draining')
        : !b.location || !b.location.linkUp ? 'down' : (monitored?.health as BackendStatus['health'] | undefined) ?? (b.healthy === false ? 'down' : 'up');
      return {
        id: b.config.name, service: s.config.name, vnic: b.config.vnic, ip: b.config.ip, ...(b.config.ip6 !== undefined ? { ip6: b.config.ip6 } : {}), ports: [...b.config.ports],
        weight: lb?.weight ?? b.config.weight, tier: b.config.tier, health: state,
        healthReason: !b.location ? 'vNIC not found on any connected switch' : !b.location.linkUp ? 'link down' : monitored?.reason,
        ...withTag(taggedOn(s.config.name, b.config.name)),
        ...withEgressQueue(egressQueueOf(b.config.vnic)),
        ...portsOutOf(lb),
        outlierEjections: lb?.outlierEjections ?? 0,
        ofport: b.location?.ofport, mac: b.location?.mac, dpid: b.location ? formatDpid(b.location.dpid) : undefined,
        ...(b.location?.remoteHost !== undefined ? { host: b.location.remoteHost } : {}),
        activeConns: lb?.activeConns ?? 0, inactiveConns: lb?.inactiveConns ?? 0, totalConns: b.totalConns,
        overloaded: lb?.overloaded ?? false, packets: b.packets, bytes: b.bytes,
        ...stats.loadFigures(s.config.name, s.lb, b.config.name),
        lastCheck: health.lastCheckOf(s.config.name, b.config.name),
      };
    });
    const tiers = [...s.backends.values()].filter((b) => b.inActiveTier).map((b) => b.config.tier);
    return {
      name: s.config.name, vip: s.config.vip, ...(s.config.vip6 !== undefined ? { vip6: s.config.vip6 } : {}), vipMac: s.config.vip_mac, protocol: s.config.protocol, port: s.config.port,
      scheduler: s.config.scheduler, activeTier: tiers.length ? Math.min(...tiers) : 0, backends,
      decisions: s.decisions, decidedBy: app.decidedBy(s.config.name), refused: s.refused, endCopies: s.endCopies,
      repeats: s.repeats, guardedReplies: s.guardedReplies, flowsResent: s.flowsResent,
      ...(s.payload ? { payloadRules: payloadRulesStatus(s.payload) } : {}),
    };
  });
}

function payloadRulesStatus(p: PayloadState): PayloadRulesStatus {
  return {
    rules: p.rules.rules.map((r, i) => ({ name: r.name, pool: r.pool, hits: p.hits[i] })),
    defaultPool: p.rules.defaultPool, defaultHits: p.defaultHits, malformed: p.malformed, malformedAction: p.rules.malformed,
  };
}

function withEgressQueue(queue: number | undefined): Pick<BackendStatus, 'egressQueue'> {
  return queue === undefined ? {} : { egressQueue: queue };
}

function withTag(iface: string | undefined): Pick<BackendStatus, 'taggedOn'> {
  return iface === undefined ? {} : { taggedOn: iface };
}

/**
 * The backend's ports out of rotation, by why (the outlier bit first: it is the one a probe lifts); a dual-stack
 * backend's port out of one family only (its check of that address fails) names the family.
 */
export function portsOutOf(lb: Backend | undefined): Pick<BackendStatus, 'portsOut'> {
  if (!lb || !lb.portOut.some((out) => out !== 0)) return {};
  const portsOut: NonNullable<BackendStatus['portsOut']> = [];
  lb.ports.forEach((port, i) => {
    const out = lb.portOut[i];
    if (out === 0) return;
    if (out & (PORT_OUT_OUTLIER | PORT_OUT_HEALTH)) portsOut.push({ port, why: out & PORT_OUT_OUTLIER ? 'outlier' : 'check' });
    else if (out === PORT_OUT_HEALTH_IPV4 || out === PORT_OUT_HEALTH_IPV6) portsOut.push({ port, why: 'check', family: out === PORT_OUT_HEALTH_IPV4 ? 'IPv4' : 'IPv6' });
    else portsOut.push({ port, why: 'check' }); // both families' checks fail
  });
  return { portsOut };
}

export function connectionStatuses(app: LoadBalancerApp, filter: { service?: string; backend?: string }, now: number): ConnectionStatus[] {
  const byName = new Map(app.serviceStates().map((s) => [s.config.name, s]));
  return app.connectionRecords(filter.service)
    .filter((c) => !filter.backend || c.record.backendId === filter.backend)
    .map(({ service, record }) => {
      const svc = byName.get(service)!;
      const backend = svc.backends.get(record.backendId);
      const addresses = connAddresses(record);
      return {
        service, protocol: svc.config.protocol,
        client: formatEndpoint(addresses.client, record.clientPort), vip: formatEndpoint(addresses.vip, record.vipPort),
        backend: record.backendId, destination: formatEndpoint(backend ? configuredAddress(backend.config, record.ip6 !== undefined) : '?', record.softwarePort), state: record.state,
        ageMs: now - record.created, idleMs: now - record.lastSeen,
      };
    });
}

/** vadc's flows on every switch (or one), read back with flow stats, for `vadc flows`. */
export async function flowStatuses(controller: Controller, dpid?: string): Promise<FlowStatus[]> {
  const out: FlowStatus[] = [];
  for (const sw of controller.switches()) {
    if (dpid && formatDpid(sw.dpid) !== dpid.replace(/^0x/, '').padStart(16, '0')) continue;
    const reply = await controller.request(sw.dpid, {
      type: 'multipart_request', xid: 0, flags: 0,
      body: { mpType: 'flow', tableId: OFPTT_ALL, outPort: OFPP_ANY, outGroup: OFPG_ANY, ...allVadcFlows(), match: [] },
    });
    if (reply.body.mpType !== 'flow') continue;
    for (const f of reply.body.entries) {
      out.push({
        dpid: formatDpid(sw.dpid), tableId: f.tableId, priority: f.priority, cookie: `0x${f.cookie.toString(16)}`,
        match: describeMatch(f.match), actions: describeActions(f.instructions), packets: Number(f.packetCount),
        bytes: Number(f.byteCount), durationSec: f.durationSec, idleTimeout: f.idleTimeout,
      });
    }
  }
  return out;
}

/** A switch's `reachableFromTable0` in status, when the table-0 watch has an answer. */
export function optionalReachable(reachable: boolean | undefined): { reachableFromTable0?: boolean } {
  return reachable === undefined ? {} : { reachableFromTable0: reachable };
}

export function optionalSynced(at: number | undefined): { flowsSyncedAt?: number } {
  return at === undefined ? {} : { flowsSyncedAt: at };
}

/** The controller HA election as status shows it. */
export function haStatus(election: ControllerElection): NonNullable<StatusSnapshot['ha']> {
  const { election: kind, where, role, generation, instance, peer, masterApi } = election.status();
  return { election: kind, where, role, generation, instance, ...(peer ? { peer } : {}), ...(masterApi ? { masterApi } : {}) };
}

/** status's datapath.reading: the last tracker listing's cost and the spacing it set (absent before the first, and in flow accounting). */
export function readingStatus(figures: ReadingFigures | undefined): Pick<StatusSnapshot['datapath'], 'reading'> {
  if (figures?.answerWaitMs === undefined) return {};
  const { askedAt, tookMs, answerWaitMs, spacingMs, spacedBy } = figures;
  return { reading: { at: askedAt, tookMs, answerWaitMs, spacingMs, spacedBy } };
}
