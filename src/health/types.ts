/** Outcome of one active health check. Checkers never throw for a failing target; they report it here. */
export interface CheckResult {
  ok: boolean;
  /** Short, specific cause: 'connected', 'HTTP 500 not in 200-299', 'timed out after 2000 ms', ... */
  reason: string;
  /** What the target said (status line and body head, a UDP reply, a script's output), truncated. */
  output: string;
  durationMs: number;
}

/** Accepted HTTP statuses: single codes and inclusive ranges. */
export type StatusExpectation = Array<number | { from: number; to: number }>;

/**
 * Where checks are sent from, per family (in the lab: the bridge's LOCAL port addresses); a family left out gets the
 * kernel's choice. One address for both would fail every check of the other family (a socket cannot bind an IPv4
 * address and connect to an IPv6 one).
 */
export interface SourceAddresses { ipv4?: string; ipv6?: string }

/** The source address of `sources` for a check of `host` (an IP literal): the one of its family, if given. */
export function sourceFor(sources: SourceAddresses | undefined, host: string): string | undefined {
  return host.includes(':') ? sources?.ipv6 : sources?.ipv4;
}

interface NetworkCheckBase {
  host: string;
  port: number;
  timeoutMs: number;
  /** Local address to send from (in the lab: the bridge's LOCAL port address). */
  sourceAddress?: string;
}

export interface TcpCheckSpec extends NetworkCheckBase {
  kind: 'tcp';
}

export interface HttpCheckSpec extends NetworkCheckBase {
  kind: 'http' | 'https';
  /** Absolute path, default '/'. */
  path?: string;
  /** Default: 200-299. */
  expectStatus?: StatusExpectation;
  /** A substring (string) or pattern (RegExp) the body must contain. */
  expectBody?: string | RegExp;
  hostHeader?: string;
  /** https only: verify the server certificate (default false: backends usually have self-signed ones). */
  tlsVerify?: boolean;
}

export interface UdpCheckSpec extends NetworkCheckBase {
  kind: 'udp';
  send: string | Buffer;
  /** The reply must contain this substring / match this pattern; absent = any reply passes. */
  expect?: string | RegExp;
}

export interface ScriptCheckSpec {
  kind: 'script';
  /** argv (run directly) or a string (run by /bin/sh -c). */
  command: string | string[];
  timeoutMs: number;
  env?: Record<string, string>;
}

export type CheckSpec = TcpCheckSpec | HttpCheckSpec | UdpCheckSpec | ScriptCheckSpec;

/** A hook the health module runs: to launch or stop a VM. */
export interface HookSpec {
  /** argv (run directly) or a string (run by /bin/sh -c). */
  command: string | string[];
  timeoutMs: number;
  env?: Record<string, string>;
}
