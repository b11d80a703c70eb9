// The outlier detector's results as the app reports them: ejections and re-admissions become events, and the
// probes it asks for become requests the daemon runs (an active connect to the port), since the app does no I/O.
import { uint32ToIpv4 } from '../net/ipv4';
import type { EventSink } from './events';
import type { ServiceState } from './services';

/** A probe the detector asks for: connect to ip:port, then call app.outlierProbeResult with what happened. */
export interface OutlierProbe {
  service: string;
  backend: string;
  /** The backend's address in the family whose connections failed (a dual-stack backend's ip6 for IPv6 ones). */
  ip: string;
  port: number;
  portIndex: number;
  /** tcp: a connect; udp: a datagram that must be answered (ICMP port unreachable or silence fails it). */
  protocol: 'tcp' | 'udp';
}

/** Emits the service's outlier changes since the last call (`outlier_ejected` warn, `outlier_readmitted` info); returns how many. */
export function reportOutlierChanges(service: ServiceState, emit: EventSink, now: number): number {
  const changes = service.lb.takeOutlierChanges();
  for (const c of changes) {
    if (c.kind === 'ejected') {
      // A dual-stack backend's ejection says which family's connections failed (its probe goes to that address).
      const family = c.family !== undefined && service.backends.get(c.backend)?.config.ip6 !== undefined ? (c.family === 'ipv6' ? 'IPv6' : 'IPv4') : undefined;
      emit({
        time: now, kind: 'outlier_ejected', level: 'warn', service: service.config.name, backend: c.backend,
        data: { port: c.port, until: c.until, ejections: c.ejections, ...(family ? { family } : {}) },
        message: `port ${c.port} ejected for ${c.until - now} ms (ejection ${c.ejections} in a row${family ? `, ${family} connections` : ''}): ${c.reason}`,
      });
    } else if (c.kind === 'readmitted') {
      emit({
        time: now, kind: 'outlier_readmitted', level: 'info', service: service.config.name, backend: c.backend,
        data: { port: c.port }, message: `port ${c.port} back in rotation: ${c.reason}`,
      });
    }
  }
  return changes.length;
}

/**
 * The probes due in a service now (ejections that ended), each to the backend's address of the family whose
 * connections failed: a dual-stack backend's `ip6` after IPv6 failures, its `ip` otherwise (a single-family backend's
 * one address).
 */
export function dueProbes(service: ServiceState, now: number): OutlierProbe[] {
  return service.lb.outlierTick(now).map((p) => {
    const config = service.backends.get(p.backend)?.config;
    const ip = (p.family === 'ipv6' ? config?.ip6 : undefined) ?? config?.ip ?? uint32ToIpv4(service.lb.backendById(p.backend)?.ip ?? 0);
    return { service: service.config.name, backend: p.backend, port: p.port, portIndex: p.portIndex, protocol: service.config.protocol, ip };
  });
}
