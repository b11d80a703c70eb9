import { readFileSync } from 'node:fs';
import type { VadcConfig } from '../config';
import { DEFAULT_API_SOCKET } from './endpoint';
import type { ApiListenOptions } from './server';

/**
 * The API listeners a configuration asks for (pure; the daemon passes the result to ApiServer.start):
 * - the control socket: `api.listen` when it is unix:, else the default socket, so the CLI works locally;
 * - `api.listen` when it is tcp: or ssl: (with its token, and for ssl: the certificate and key read from api.ssl);
 * - `metrics.listen`: a scrape-only listener serving `metrics.path`.
 */
export function apiListenersFromConfig(
  config: Pick<VadcConfig, 'api' | 'metrics'> & Partial<Pick<VadcConfig, 'limits'>>, defaultSocket = DEFAULT_API_SOCKET,
  readFile: (file: string) => Buffer = readFileSync,
): ApiListenOptions[] {
  const listen = config.api?.listen;
  const maxConnections = config.limits?.api_connections;
  const capped = maxConnections === undefined ? {} : { maxConnections };
  const listeners: ApiListenOptions[] = [];
  if (listen?.startsWith('unix:')) listeners.push({ endpoint: listen, ...capped });
  else {
    listeners.push({ endpoint: `unix:${defaultSocket}`, ...capped });
    const ssl = config.api?.ssl;
    if (listen) listeners.push({ endpoint: listen, token: config.api?.token, ...capped, ...(ssl ? { tls: { cert: readFile(ssl.cert), key: readFile(ssl.key) } } : {}) });
  }
  if (config.metrics) {
    const metricsCap = config.limits?.metrics_connections;
    listeners.push({ endpoint: config.metrics.listen, role: 'metrics', metricsPath: config.metrics.path, ...(metricsCap === undefined ? {} : { maxConnections: metricsCap }) });
  }
  return listeners;
}
