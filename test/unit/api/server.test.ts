import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError, ApiServer, ApiServerError, DaemonUnreachableError, VadcClient, matchRoute, parseApiEndpoint } from '../../../src/api';
import { ConfigError } from '../../../src/config/errors';
import { FakeRuntime, sampleRuntime } from './fake-runtime';

const TOKEN = 'test-token-0123456789abcdef';

/** A raw request, so status codes and headers can be checked without the typed client. */
function raw(opts: http.RequestOptions, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('control API on a unix socket', () => {
  let dir: string;
  let rt: FakeRuntime;
  let server: ApiServer;
  let client: VadcClient;
  let socketPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-api-'));
    socketPath = path.join(dir, 'run', 'vadc.sock');
    rt = await sampleRuntime();
    server = await ApiServer.start({ runtime: rt, listen: [{ endpoint: `unix:${socketPath}` }], maxBodyBytes: 4096 });
    client = new VadcClient({ endpoint: `unix:${socketPath}` });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket with mode 0660', () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
  });

  it('serves status and services from the runtime', async () => {
    const status = await client.status();
    expect(status.version).toBe('0.1.0-test');
    expect(status.services.map((s) => s.name)).toEqual(['web']);
    const web = await client.service('web');
    expect(web.backends.map((b) => [b.id, b.weight])).toEqual([['v-vm1', 2], ['v-vm2', 1]]);
  });

  it('adds and removes a service and a backend, and changes weights', async () => {
    const added = await client.addService({ name: 'dns', vip: '10.0.0.53', protocol: 'udp', port: 53, backends: [{ vnic: 'v-vm3', ip: '10.0.0.13', ports: [53] }] });
    expect(added.protocol).toBe('udp');
    const b = await client.addBackend('dns', { vnic: 'v-vm4', ip: '10.0.0.14', ports: [53], weight: 3 });
    expect(b.weight).toBe(3);
    expect((await client.setWeight('dns', 'v-vm4', 7)).weight).toBe(7);
    expect((await client.drain('dns', 'v-vm4')).health).toBe('draining');
    expect((await client.enable('dns', 'v-vm4')).health).toBe('up');
    await client.removeBackend('dns', 'v-vm4');
    expect((await client.service('dns')).backends.map((x) => x.id)).toEqual(['v-vm3']);
    await client.removeService('dns');
    expect((await client.services()).map((s) => s.name)).toEqual(['web']);
  });

  it('filters connections and flows by query', async () => {
    expect((await client.connections({ backend: 'v-vm2' })).map((c) => c.client)).toEqual(['10.0.0.51:41001']);
    expect(await client.flows('00000000000000ff')).toEqual([]);
    expect(await client.flows()).toHaveLength(1);
  });

  it('maps runtime errors to 404 and 409 with a JSON error body', async () => {
    const missing = await raw({ socketPath, path: '/v1/services/nope' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({ error: { code: 'not_found', message: 'no service named nope' } });
    await expect(client.addBackend('web', { vnic: 'v-vm1', ip: '10.0.0.11', ports: [80] })).rejects.toMatchObject({ status: 409, code: 'conflict' });
  });

  it('rejects invalid bodies with 400 naming the field path', async () => {
    const res = await raw(
      { socketPath, path: '/v1/services', method: 'POST', headers: { 'content-type': 'application/json' } },
      JSON.stringify({ name: 'x', vip: '10.0.0.300', port: 80, backends: [{ vnic: 'a', ip: '10.0.0.1', ports: [0] }] }),
    );
    expect(res.status).toBe(400);
    const body = JSON.parse(res.text) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid');
    expect(body.error.message).toContain('vip: must be an IPv4 or IPv6 address');
    expect(body.error.message).toContain('backends[0].ports[0]');
  });

  it('rejects malformed JSON, wrong content types, unknown fields and bad weights', async () => {
    const post = (p: string, body: string, type = 'application/json') => raw({ socketPath, path: p, method: 'POST', headers: { 'content-type': type } }, body);
    const bad = await post('/v1/services', '{"name":');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('not valid JSON');
    expect((await post('/v1/services', 'name: x', 'text/yaml')).status).toBe(415);
    const extra = await post('/v1/services/web/backends', JSON.stringify({ vnic: 'v', ip: '10.0.0.9', ports: [80], colour: 'red' }));
    expect(extra.status).toBe(400);
    expect(extra.text).toContain('colour');
    const weight = await post('/v1/services/web/backends/v-vm1/weight', JSON.stringify({ weight: -1 }));
    expect(weight.status).toBe(400);
    expect(weight.text).toContain('weight');
  });

  it('answers 413 for bodies over the limit', async () => {
    const res = await raw(
      { socketPath, path: '/v1/services', method: 'POST', headers: { 'content-type': 'application/json' } },
      JSON.stringify({ name: 'big', pad: 'x'.repeat(5000) }),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text).error.code).toBe('payload_too_large');
  });

  it('answers 405 with Allow for a wrong method and 404 for unknown paths', async () => {
    const wrong = await raw({ socketPath, path: '/v1/status', method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET');
    expect((await raw({ socketPath, path: '/v2/status' })).status).toBe(404);
  });

  it('shows and applies configuration (JSON or raw YAML), passing runtime validation errors as 400', async () => {
    expect(await client.applyConfig('services: [web]\n')).toEqual({ changed: ['service web'] });
    expect(await client.configText()).toBe('services: [web]\n');
    const yamlPut = await raw({ socketPath, path: '/v1/config', method: 'PUT', headers: { 'content-type': 'application/yaml' } }, 'services: []\n');
    expect(yamlPut.status).toBe(200);
    expect(rt.applied.at(-1)).toBe('services: []\n');
    await expect(client.applyConfig('nothing: here')).rejects.toMatchObject({ status: 400, message: 'config: services: missing' });
    // The daemon validates with src/config, whose ConfigError lists every problem: one line over the API.
    const applyConfig = jest.spyOn(rt, 'applyConfig').mockRejectedValueOnce(
      new ConfigError('<api>', [{ path: 'services[0].vip', message: 'not an IPv4 address' }, { path: 'services[0].port', message: 'missing' }]),
    );
    await expect(client.applyConfig('services: []')).rejects.toMatchObject({
      status: 400,
      message: '<api>: invalid configuration: services[0].vip: not an IPv4 address; services[0].port: missing',
    });
    applyConfig.mockRestore();
  });

  it('streams events as SSE with a backlog', async () => {
    const ac = new AbortController();
    const got: string[] = [];
    const done = (async () => {
      for await (const e of client.followEvents({ backlog: 1, signal: ac.signal })) {
        got.push(e.kind);
        if (got.length === 1) rt.setHealth('web', 'v-vm2', 'down', 'tcp connect refused');
        if (got.length === 2) ac.abort();
      }
    })();
    await done;
    expect(got).toEqual(['service_added', 'backend_down']);
    rt.setHealth('web', 'v-vm2', 'up');
  });

  it('serves Prometheus metrics and the dashboard page', async () => {
    const metrics = await client.metricsText();
    expect(metrics).toMatch(/^vadc_backend_up\{service="web",backend="v-vm1"\} 1$/m);
    const page = await raw({ socketPath, path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
  });

  it('refuses to start a second daemon on a live socket', async () => {
    await expect(ApiServer.start({ runtime: rt, listen: [{ endpoint: `unix:${socketPath}` }] })).rejects.toThrow(/already serving/);
  });
});

describe('control API on tcp with a token', () => {
  let rt: FakeRuntime;
  let server: ApiServer;
  let port: number;

  beforeAll(async () => {
    rt = await sampleRuntime();
    server = await ApiServer.start({ runtime: rt, listen: [{ endpoint: 'tcp:127.0.0.1:0', token: TOKEN }] });
    port = parseApiEndpoint(server.endpoints[0]).kind === 'tcp' ? (parseApiEndpoint(server.endpoints[0]) as { port: number }).port : 0;
  });
  afterAll(() => server.close());

  it('answers 401 without or with a wrong token', async () => {
    const none = await raw({ host: '127.0.0.1', port, path: '/v1/status' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(JSON.parse(none.text).error.code).toBe('unauthorized');
    const wrong = new VadcClient({ endpoint: `tcp:127.0.0.1:${port}`, token: 'x'.repeat(TOKEN.length) });
    await expect(wrong.status()).rejects.toMatchObject({ status: 401 });
  });

  it('serves with the right token', async () => {
    const ok = new VadcClient({ endpoint: `tcp:127.0.0.1:${port}`, token: TOKEN });
    expect((await ok.services()).length).toBe(1);
  });

  it('trades ?token= on the dashboard for an HttpOnly cookie', async () => {
    const login = await raw({ host: '127.0.0.1', port, path: `/?token=${TOKEN}` });
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    expect(String(login.headers['set-cookie'])).toContain('HttpOnly');
    const page = await raw({ host: '127.0.0.1', port, path: '/', headers: { cookie } });
    expect(page.status).toBe(200);
    expect((await raw({ host: '127.0.0.1', port, path: '/?token=wrong' })).status).toBe(401);
  });

  it('refuses tcp listeners without a token, short tokens and ssl without certificates', async () => {
    await expect(ApiServer.start({ runtime: rt, listen: [{ endpoint: 'tcp:127.0.0.1:0' }] })).rejects.toThrow(ApiServerError);
    await expect(ApiServer.start({ runtime: rt, listen: [{ endpoint: 'tcp:127.0.0.1:0', token: 'short' }] })).rejects.toThrow(/too short/);
    await expect(ApiServer.start({ runtime: rt, listen: [{ endpoint: 'ssl:127.0.0.1:0', token: TOKEN }] })).rejects.toThrow(/tls.cert/);
  });
});

describe('client errors', () => {
  it('says the daemon is not running, in one line, when the socket is missing', async () => {
    const client = new VadcClient({ endpoint: 'unix:/nonexistent/vadc-test/vadc.sock' });
    const err = await client.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonUnreachableError);
    expect((err as Error).message).toBe('vadc daemon not reachable at unix:/nonexistent/vadc-test/vadc.sock (ENOENT): is `vadc start` running?');
  });

  it('keeps the HTTP status for non-JSON error replies', async () => {
    const plain = http.createServer((_req, res) => {
      res.writeHead(502);
      res.end('bad gateway');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const { port } = plain.address() as { port: number };
    const err = await new VadcClient({ endpoint: `tcp:127.0.0.1:${port}` }).status().catch((e: unknown) => e);
    plain.close();
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(502);
  });
});

describe('endpoints and routes', () => {
  it('parses unix, tcp and ssl endpoints and rejects junk', () => {
    expect(parseApiEndpoint('unix:/run/vadc/vadc.sock')).toEqual({ kind: 'unix', path: '/run/vadc/vadc.sock' });
    expect(parseApiEndpoint('/tmp/x.sock')).toEqual({ kind: 'unix', path: '/tmp/x.sock' });
    expect(parseApiEndpoint('ssl:127.0.0.1:8443')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8443, tls: true });
    expect(() => parseApiEndpoint('http://x')).toThrow(/unknown kind "http"/);
    expect(() => parseApiEndpoint('tcp:127.0.0.1:99999')).toThrow(/port "99999"/);
    expect(() => parseApiEndpoint('tcp:example.com:80')).toThrow(/not an IP address/);
  });

  it('matches routes with decoded params', () => {
    expect(matchRoute('POST', '/v1/services/web/backends/v%20vm1/drain')).toEqual({ kind: 'route', route: 'drain', params: { service: 'web', backend: 'v vm1' } });
    expect(matchRoute('GET', '/v1/services/web/backends')).toEqual({ kind: 'method_not_allowed', allowed: ['POST'] });
    expect(matchRoute('GET', '/v1/services/%E0%A4%A')).toEqual({ kind: 'not_found' });
  });
});

describe('metrics-only listener', () => {
  it('serves only the metrics path, without a token, and nothing that changes state', async () => {
    const rt = await sampleRuntime();
    const server = await ApiServer.start({ runtime: rt, listen: [{ endpoint: 'tcp:127.0.0.1:0', role: 'metrics', metricsPath: '/prom' }] });
    try {
      const port = Number(server.endpoints[0].split(':').pop());
      const scrape = await raw({ host: '127.0.0.1', port, path: '/prom' });
      expect(scrape.status).toBe(200);
      expect(scrape.text).toMatch(/^vadc_backend_connections_total\{service="web",backend="v-vm1"\} 10$/m);
      expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      // What Prometheus sends: OpenMetrics first.
      const om = await raw({ host: '127.0.0.1', port, path: '/prom', headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
      expect(om.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
      expect(om.text).toMatch(/^vadc_backend_connections_total\{service="web",backend="v-vm1"\} 10$/m);
      expect(om.text.endsWith('# EOF\n')).toBe(true);
      expect((await raw({ host: '127.0.0.1', port, path: '/v1/status' })).status).toBe(404);
      expect((await raw({ host: '127.0.0.1', port, path: '/v1/services/web', method: 'DELETE' })).status).toBe(404);
      expect((await raw({ host: '127.0.0.1', port, path: '/prom', method: 'POST' })).status).toBe(405);
      expect(rt.services()).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('control API over TLS', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-api-tls-'));
    // A throwaway self-signed certificate for 127.0.0.1 (openssl is part of the team's toolset).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=vadc-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(path.join(dir, 'cert.pem'));
    key = readFileSync(path.join(dir, 'key.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves with the token to a client trusting the CA, and the client refuses an unknown CA', async () => {
    const rt = await sampleRuntime();
    const server = await ApiServer.start({ runtime: rt, listen: [{ endpoint: 'ssl:127.0.0.1:0', token: TOKEN, tls: { cert, key } }] });
    try {
      const endpoint = server.endpoints[0];
      expect(endpoint).toMatch(/^ssl:127\.0\.0\.1:\d+$/);
      expect((await new VadcClient({ endpoint, token: TOKEN, ca: cert }).services())[0].name).toBe('web');
      await expect(new VadcClient({ endpoint, token: 'y'.repeat(TOKEN.length), ca: cert }).status()).rejects.toMatchObject({ status: 401 });
      const untrusted = await new VadcClient({ endpoint, token: TOKEN }).status().catch((e: unknown) => e);
      expect(untrusted).toBeInstanceOf(DaemonUnreachableError);
      expect((untrusted as Error).message).toMatch(/^TLS certificate of vadc daemon at ssl:127\.0\.0\.1:\d+ not trusted \(\w+\): pass its CA with --api-ca$/);
    } finally {
      await server.close();
    }
  });
});
