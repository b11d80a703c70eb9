import http from 'node:http';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ApiServer, ROUTES } from '../../../src/api';
import { openApiYaml } from '../../../src/api/openapi';
import { RuntimeWithHistory } from '../../../src/runtime/with-history';
import { ApiContract } from '../../helpers/contract';
import { sampleRuntime, type FakeRuntime } from './fake-runtime';

const ROOT = path.resolve(__dirname, '../../..');
const committed = readFileSync(path.join(ROOT, 'docs/openapi.yaml'), 'utf8');
const doc = parse(committed) as { openapi: string; paths: Record<string, Record<string, unknown>> };
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('docs/openapi.yaml is generated from the zod schemas', () => {
  it('the committed file is exactly what the schemas generate (npm run openapi)', () => {
    expect(committed).toBe(openApiYaml(version));
  });

  it('a history series of a backend added after the first sample (null health before it) is valid', () => {
    const contract = new ApiContract();
    const column = [null, 1];
    const history = {
      intervalMs: 1000, windowMs: 60_000, times: [1, 2], services: [],
      backends: [{ service: 'web', backend: 'v-new', active: column, inactive: column, total: column, packets: column, bytes: column, queue: column, health: [null, 'up'] }],
      switches: [],
    };
    expect(contract.schemaProblems('StatusHistory', history)).toEqual([]);
  });

  it('is OpenAPI 3.1 and describes every route and method the server answers, and nothing else', () => {
    expect(doc.openapi).toBe('3.1.0');
    const served = ROUTES.flatMap((r) => Object.keys(r.methods).map((m) => `${m.toLowerCase()} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`)).sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([p, item]) => Object.keys(item).filter((k) => ['get', 'post', 'put', 'delete'].includes(k)).map((m) => `${m} ${p}`))
      .sort();
    expect(documented).toEqual(served);
  });
});

function raw(socketPath: string, method: string, urlPath: string, body?: unknown, type = 'application/json'): Promise<{ status: number; type?: string; text: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request({ socketPath, method, path: urlPath, headers: text === undefined ? {} : { 'content-type': type } }, (res) => {
      let out = '';
      res.setEncoding('utf8').on('data', (d: string) => (out += d)).on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text: out }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe('the contract checker against the server (fake runtime)', () => {
  const contract = new ApiContract();
  let rt: FakeRuntime;
  let history: RuntimeWithHistory;
  let server: ApiServer;
  const socketPath = path.join(os.tmpdir(), `vadc-contract-${process.pid}.sock`);

  beforeAll(async () => {
    rt = await sampleRuntime();
    rt.patchBackend('web', 'v-vm1', { lastCheck: { at: rt.now, ok: true, port: 8080, reason: 'HTTP 200', durationMs: 3 } });
    history = new RuntimeWithHistory(rt).start();
    server = await ApiServer.start({ runtime: history, listen: [{ endpoint: `unix:${socketPath}` }] });
  });
  afterAll(async () => {
    history.stop();
    await server.close();
  });

  const call = async (method: string, urlPath: string, body?: unknown, type?: string) => {
    const r = await raw(socketPath, method, urlPath, body, type);
    return { ...r, problems: contract.problems({ method, path: urlPath, status: r.status, contentType: r.type, body: r.text }) };
  };

  it('every JSON route and its error replies keep the contract', async () => {
    const calls: Array<[string, string, unknown?, string?]> = [
      ['GET', '/v1/status'], ['GET', '/v1/services'], ['GET', '/v1/services/web'], ['GET', '/v1/services/nope'],
      ['POST', '/v1/services', { name: 'dns', vip: '10.0.0.53', port: 53, protocol: 'udp', backends: [{ vnic: 'v-vm3', ip: '10.0.0.13', ports: [53] }] }],
      ['POST', '/v1/services', { name: 'dns', vip: '10.0.0.53', port: 53, backends: [] }],
      ['POST', '/v1/services', { name: 'bad', vip: '10.0.0.300', port: 53, backends: [] }],
      ['POST', '/v1/services', 'name: x', 'text/plain'],
      ['POST', '/v1/services/web/backends', { vnic: 'v-vm9', ip: '10.0.0.19', ports: [8080] }],
      ['POST', '/v1/services/web/backends/v-vm9/weight', { weight: 4 }],
      ['POST', '/v1/services/web/backends/v-vm9/drain'], ['POST', '/v1/services/web/backends/v-vm9/enable'],
      ['DELETE', '/v1/services/web/backends/v-vm9'], ['DELETE', '/v1/services/dns'],
      ['GET', '/v1/connections?service=web'], ['GET', '/v1/flows'], ['GET', '/v1/events?limit=5'], ['GET', '/v1/events?limit=x'],
      ['GET', '/v1/history'], ['GET', '/v1/history?seconds=60'], ['GET', '/v1/config'], ['PUT', '/v1/config', { yaml: 'services: []\n' }], ['GET', '/metrics'], ['GET', '/'],
      ['DELETE', '/v1/status'], ['GET', '/v1/nothing'],
    ];
    const problems: string[] = [];
    const statuses: number[] = [];
    for (const [method, p, body, type] of calls) {
      const r = await call(method, p, body, type);
      statuses.push(r.status);
      problems.push(...r.problems);
    }
    expect(problems).toEqual([]);
    expect(new Set(statuses)).toEqual(new Set([200, 201, 204, 400, 404, 405, 409, 415]));
  });

  it('finds a response that breaks the contract (so a pass means something)', () => {
    const good = JSON.stringify({ name: 'web', vip: '10.0.0.100', vipMac: 'x', protocol: 'tcp', port: 80, scheduler: 'rr', activeTier: 0, backends: [], decisions: 1, decidedBy: 'controller', refused: 0, endCopies: 0, repeats: 0, guardedReplies: 0, flowsResent: 0 });
    expect(contract.problems({ method: 'GET', path: '/v1/services/web', status: 200, contentType: 'application/json', body: good })).toEqual([]);
    const extra = JSON.stringify({ ...JSON.parse(good), surprise: 1 });
    expect(contract.problems({ method: 'GET', path: '/v1/services/web', status: 200, contentType: 'application/json', body: extra }).join()).toMatch(/additional/);
    const wrongType = JSON.stringify({ ...JSON.parse(good), port: '80' });
    expect(contract.problems({ method: 'GET', path: '/v1/services/web', status: 200, contentType: 'application/json', body: wrongType }).join()).toMatch(/\/port must be integer/);
    expect(contract.problems({ method: 'GET', path: '/v1/status', status: 409, contentType: 'application/json', body: '{}' })).not.toEqual([]);
    expect(contract.problems({ method: 'GET', path: '/v1/status', status: 200, contentType: 'text/plain', body: 'x' }).join()).toMatch(/media type/);
  });
});
