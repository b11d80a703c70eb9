import { PassThrough } from 'node:stream';
import { createLogger } from '../../../src/util/logger';

function capture(format: 'json' | 'text') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  return { logger: createLogger({ format, stream, level: 'info' }), lines };
}

describe('logger', () => {
  it('writes JSON with the context fields (service, backend, dpid)', async () => {
    const { logger, lines } = capture('json');
    logger.info('backend down', { service: 'web', backend: 'vm1', dpid: '0000000000000001' });
    await new Promise((r) => setImmediate(r));
    const ev = JSON.parse(lines[0]);
    expect(ev).toMatchObject({ level: 'info', message: 'backend down', service: 'web', backend: 'vm1', dpid: '0000000000000001' });
    expect(typeof ev.timestamp).toBe('string');
  });

  it('drops events below its level', async () => {
    const { logger, lines } = capture('text');
    logger.debug('hidden');
    logger.warn('shown', { service: 'web' });
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/warn shown \{"service":"web"\}$/);
  });
});
