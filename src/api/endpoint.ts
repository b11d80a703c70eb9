import { isIP } from 'node:net';

/** Where the control API listens or where the CLI connects: `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT`. */
export type ApiEndpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean };

export const DEFAULT_API_SOCKET = '/run/vadc/vadc.sock';
export const DEFAULT_API_ENDPOINT = `unix:${DEFAULT_API_SOCKET}`;

export class ApiEndpointError extends Error {
  override readonly name = 'ApiEndpointError';
  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(`invalid API endpoint "${text}": ${reason} (expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT)`);
  }
}

export function parseApiEndpoint(text: string): ApiEndpoint {
  // A bare absolute path is the common case for a socket: accept it as unix:PATH.
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  const colon = text.indexOf(':');
  if (colon < 0) throw new ApiEndpointError(text, 'missing the kind prefix');
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (kind === 'unix') {
    if (!rest) throw new ApiEndpointError(text, 'empty socket path');
    return { kind: 'unix', path: rest };
  }
  if (kind !== 'tcp' && kind !== 'ssl') throw new ApiEndpointError(text, `unknown kind "${kind}"`);
  const portSep = rest.lastIndexOf(':');
  if (portSep < 0) throw new ApiEndpointError(text, 'missing :PORT');
  let host = rest.slice(0, portSep);
  const portText = rest.slice(portSep + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!isIP(host) && host !== 'localhost') throw new ApiEndpointError(text, `"${host}" is not an IP address`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new ApiEndpointError(text, `port "${portText}" is not 0..65535`);
  }
  return { kind: 'tcp', host, port: Number(portText), tls: kind === 'ssl' };
}

export function formatApiEndpoint(endpoint: ApiEndpoint): string {
  if (endpoint.kind === 'unix') return `unix:${endpoint.path}`;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.tls ? 'ssl' : 'tcp'}:${host}:${endpoint.port}`;
}
