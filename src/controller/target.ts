/** Where the controller listens, in the OVS target syntax: 'tcp:HOST:PORT' or 'ssl:HOST:PORT'. */
export interface ListenTarget {
  protocol: 'tcp' | 'ssl';
  host: string;
  port: number;
}

export const DEFAULT_OPENFLOW_PORT = 6653;

export class InvalidListenTargetError extends Error {
  constructor(
    readonly target: string,
    readonly reason: string,
  ) {
    super(`invalid listen target '${target}': ${reason}`);
    this.name = 'InvalidListenTargetError';
  }
}

/**
 * Parses 'tcp:HOST:PORT' / 'ssl:HOST:PORT' (PORT optional, default 6653; IPv6 hosts in brackets,
 * 'tcp:[::1]:6653'). Port 0 is allowed so tests can ask the OS for a free port.
 */
export function parseListenTarget(target: string): ListenTarget {
  const match = /^(tcp|ssl):(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(target);
  if (!match) throw new InvalidListenTargetError(target, "expected 'tcp:HOST:PORT' or 'ssl:HOST:PORT'");
  const [, protocol, rawHost, rawPort] = match;
  const port = rawPort === undefined ? DEFAULT_OPENFLOW_PORT : Number(rawPort);
  if (!Number.isInteger(port) || port > 65535) {
    throw new InvalidListenTargetError(target, `port ${rawPort} is outside 0..65535`);
  }
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { protocol: protocol as 'tcp' | 'ssl', host, port };
}

export function formatListenTarget(t: ListenTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.protocol}:${host}:${t.port}`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Why a listen target is open to spoofing: a plain tcp listener off loopback accepts any host, and any host can
 * claim any datapath id (the established switch is kept while it answers, but a restarting one can be raced).
 * Production listeners should be ssl: (mutual TLS) or loopback. Undefined when the target is one of those.
 */
export function insecureListenerWarning(target: string): string | undefined {
  const t = parseListenTarget(target);
  if (t.protocol === 'ssl' || isLoopback(t.host)) return undefined;
  const where = t.host === '0.0.0.0' || t.host === '::' ? 'every interface' : t.host;
  return `OpenFlow listener ${target} accepts switches on ${where} without TLS: any host that reaches it can claim a datapath id; use ssl: (controller.ssl) or a loopback address`;
}
