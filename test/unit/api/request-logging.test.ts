import http from 'node:http';
import { PassThrough } from 'node:stream';
import { ApiServer } from '../../../src/api';
import { createLogger } from '../../../src/util/logger';
import { sampleRuntime } from './fake-runtime';

const TOKEN = 'request-logging-token-0123456789';

function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('control API logging (issue 18, defect 11)', () => {
  it('logs client errors below error level, and a flood of 401s once', async () => {
    const stream = new PassThrough();
    const lines: { level: string; message: string }[] = [];
    stream.on('data', (c: Buffer) => c.toString().split('\n').filter(Boolean).forEach((l) => {
      const { level, message } = JSON.parse(l) as { level: string; message: string };
      lines.push({ level, message });
    }));
    const logger = createLogger({ level: 'debug', format: 'json', stream });
    const server = await ApiServer.start({ runtime: await sampleRuntime(), listen: [{ endpoint: 'tcp:127.0.0.1:0', token: TOKEN }], logger });
    try {
      const port = Number(server.endpoints[0].split(':').pop());
      for (let i = 0; i < 20; i++) expect(await get(port, '/v1/status')).toBe(401);
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect(await get(port, '/v1/nothing', auth)).toBe(404);
      expect(await get(port, '/v1/status', auth, 'DELETE')).toBe(405);
      await new Promise((r) => setImmediate(r));
      const requestLines = lines.filter((l) => !/listening/.test(l.message));
      expect(requestLines.filter((l) => l.level === 'error')).toEqual([]);
      const refusals = requestLines.filter((l) => /token/.test(l.message));
      expect(refusals).toEqual([{ level: 'warn', message: expect.stringMatching(/^control API: refused a request without a valid token from 127\.0\.0\.1/) }]);
      expect(requestLines.filter((l) => l.level === 'debug').map((l) => l.message)).toEqual([
        expect.stringMatching(/^control API: 404 no such endpoint: GET \/v1\/nothing/),
        expect.stringMatching(/^control API: 405 method DELETE not allowed/),
      ]);
    } finally {
      await server.close();
    }
  });
});
