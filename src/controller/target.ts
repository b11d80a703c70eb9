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
