import { apiListenersFromConfig } from '../../../src/api';
import { parseConfig } from '../../../src/config';

const SERVICES = 'services: []\n';

describe('API listeners from the configuration', () => {
  it('serves the default socket when nothing is configured', () => {
    expect(apiListenersFromConfig(parseConfig(SERVICES))).toEqual([{ endpoint: 'unix:/run/vadc/vadc.sock', maxConnections: 64 }]);
  });

  it('keeps the local socket beside a tcp listener with its token, and adds the metrics listener', () => {
    const config = parseConfig(`${SERVICES}api: { listen: 'tcp:127.0.0.1:8181', token: 0123456789abcdef01 }\nmetrics: { listen: 'tcp:127.0.0.1:9650' }\nlimits: { api_connections: 8 }\n`);
    expect(apiListenersFromConfig(config, '/tmp/x.sock')).toEqual([
      { endpoint: 'unix:/tmp/x.sock', maxConnections: 8 },
      { endpoint: 'tcp:127.0.0.1:8181', token: '0123456789abcdef01', maxConnections: 8 },
      { endpoint: 'tcp:127.0.0.1:9650', role: 'metrics', metricsPath: '/metrics', maxConnections: 16 },
    ]);
  });

  it('uses a configured unix socket instead of the default', () => {
    expect(apiListenersFromConfig(parseConfig(`${SERVICES}api: { listen: 'unix:/run/vadc/api.sock' }\n`))).toEqual([{ endpoint: 'unix:/run/vadc/api.sock', maxConnections: 64 }]);
  });
});
