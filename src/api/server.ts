import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../util/logger';
import { silentLogger } from '../util/logger';
import { apiListenerProblems } from '../config/api-listener';
import { ViolationLog } from '../util/violation-log';
import { listenError } from '../util/listen-error';
import type { VadcEvent, VadcRuntime } from '../runtime/types';
import { renderDashboard } from '../dashboard/page';
import { createMetrics, negotiateFormat, type VadcMetrics } from '../metrics';
import { type ApiEndpoint, formatApiEndpoint, parseApiEndpoint } from './endpoint';
import { ApiError } from './errors';
import { handleJson, parseLimit, toApiError } from './handlers';
import { matchRoute, type RouteName } from './router';
import { formatSse } from './sse';

export interface ApiTlsOptions {
  /** PEM text of the server certificate (chain) and key. */
  cert: string | Buffer;
  key: string | Buffer;
}

export interface ApiListenOptions {
  endpoint: ApiEndpoint | string;
  /** unix sockets: file mode after bind (default 0o660: root and the socket's group). */
  socketMode?: number;
  /** Required on tcp/ssl listeners: requests must carry `Authorization: Bearer <token>` (or the dashboard cookie). */
  token?: string;
  /** Required for ssl: endpoints. */
  tls?: ApiTlsOptions;
  /**
   * 'metrics': a Prometheus scrape listener that answers only GET `metricsPath` (default /metrics) and needs no
   * token on tcp, since it can change nothing (config `metrics.listen`). Default 'control': the whole API.
   */
  role?: 'control' | 'metrics';
  metricsPath?: string;
  /** Connections this listener holds at once; more are closed on arrival (default 64, metrics 16). */
  maxConnections?: number;
}

export interface ApiServerOptions {
  runtime: VadcRuntime;
  listen: ApiListenOptions[];
  metrics?: VadcMetrics;
  logger?: Logger;
  /** Request bodies above this are refused with 413 (default 1 MiB: a large configuration fits easily). */
  maxBodyBytes?: number;
  /** How often the dashboard stream pushes a status snapshot (default 2000 ms). */
  statusIntervalMs?: number;
  /** Keep-alive comments on idle event streams, so proxies and browsers do not time them out (default 15 s). */
  heartbeatMs?: number;
  /** A request's headers must arrive within this (default 10 s); slower clients are disconnected. */
  headersTimeoutMs?: number;
  /** A whole request (headers and body) must arrive within this (default 30 s). */
  requestTimeoutMs?: number;
  /** A connection with no traffic either way is closed after this (default 60 s; event streams send a heartbeat). */
  idleTimeoutMs?: number;
}

/** Connections per listener when not configured: the control API is for a few operators and scripts. */
export const DEFAULT_API_CONNECTIONS = 64;
export const DEFAULT_METRICS_CONNECTIONS = 16;
/** After refusing a request, how long the rest of the client's upload may drain before the socket is destroyed. */
const LINGER_MS = 1000;

/** Misconfiguration of the API listeners (caught at start, before anything binds). */
export class ApiServerError extends Error {
  override readonly name = 'ApiServerError';
}

const TOKEN_COOKIE = 'vadc_token';
const DEFAULT_MAX_BODY = 1024 * 1024;

interface Listener {
  server: http.Server;
  endpoint: ApiEndpoint;
}

export class ApiServer {
  readonly metrics: VadcMetrics;
  private readonly listeners: Listener[] = [];
  private readonly streams = new Set<() => void>();
  private readonly log: Logger;
  private readonly violations: ViolationLog;
  /** One-time dashboard logins (value -> expiry, ms): each opens the page once, then is gone. */
  private readonly logins = new Map<string, number>();

  private constructor(private readonly opts: ApiServerOptions) {
    this.metrics = opts.metrics ?? createMetrics(opts.runtime);
    this.log = opts.logger ?? silentLogger();
    this.violations = new ViolationLog(this.log);
  }

  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    const server = new ApiServer(opts);
    const plans = opts.listen.map(checkListenOptions);
    try {
      for (const plan of plans) await server.bind(plan);
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /**
   * A one-time login for the dashboard on a tcp/ssl listener: `/?login=VALUE` sets the listener's token cookie
   * once and the value is spent, so a URL printed to a terminal (vadc demo --hold) is useless after use.
   * Valid for `ttlMs` (default 10 minutes); at most 16 are pending (the oldest goes first).
   */
  issueLogin(ttlMs = 10 * 60_000): string {
    const value = randomBytes(18).toString('base64url');
    this.logins.set(value, Date.now() + ttlMs);
    while (this.logins.size > 16) this.logins.delete(this.logins.keys().next().value!);
    return value;
  }

  private spendLogin(value: string): boolean {
    const expires = this.logins.get(value);
    this.logins.delete(value);
    return expires !== undefined && expires > Date.now();
  }

  /** The endpoints actually bound (tcp port 0 resolved to the real port). */
  get endpoints(): string[] {
    return this.listeners.map((l) => formatApiEndpoint(l.endpoint));
  }

  /** Connections open on each listener, as the server counts them (endpoint -> count): what maxConnections bounds. */
  async openConnections(): Promise<Record<string, number>> {
    const counts = await Promise.all(this.listeners.map((l) => new Promise<number>((resolve, reject) => l.server.getConnections((err, n) => (err ? reject(err) : resolve(n))))));
    return Object.fromEntries(this.listeners.map((l, i) => [formatApiEndpoint(l.endpoint), counts[i]]));
  }

  async close(): Promise<void> {
    for (const end of [...this.streams]) end();
    await Promise.all(
      this.listeners.map(async (l) => {
        await new Promise<void>((resolve) => {
          l.server.close(() => resolve());
          l.server.closeAllConnections();
        });
        if (l.endpoint.kind === 'unix') await fs.rm(l.endpoint.path, { force: true });
      }),
    );
    this.listeners.length = 0;
  }

  private async bind(plan: PlannedListener): Promise<void> {
    const { endpoint } = plan;
    const token = plan.token ? Buffer.from(plan.token) : undefined;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const serving = plan.role === 'metrics' ? this.serveMetricsOnly(req, res, plan.metricsPath ?? '/metrics', token) : this.serve(req, res, token);
      serving.catch((err: unknown) => {
        const apiError = toApiError(err);
        this.logRefusal(req, apiError);
        if (!res.headersSent) sendError(res, apiError);
        else res.destroy();
      });
    };
    const headersTimeout = this.opts.headersTimeoutMs ?? 10_000;
    const timeouts: http.ServerOptions = {
      headersTimeout,
      requestTimeout: Math.max(this.opts.requestTimeoutMs ?? 30_000, headersTimeout),
      keepAliveTimeout: 5_000,
      // Node checks the two deadlines above on this interval (default 30 s): often enough to keep them.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, headersTimeout / 4)),
    };
    const server = endpoint.kind === 'tcp' && endpoint.tls
      ? https.createServer({ ...timeouts, cert: plan.tls!.cert, key: plan.tls!.key, handshakeTimeout: headersTimeout }, handler)
      : http.createServer(timeouts, handler);
    server.maxConnections = plan.maxConnections;
    const idleMs = this.opts.idleTimeoutMs ?? 60_000;
    server.setTimeout(idleMs, (socket) => socket.destroy());
    // Node's header deadline starts with the first byte: a connection that sends nothing gets the same deadline.
    server.on(endpoint.kind === 'tcp' && endpoint.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => socket.setTimeout(headersTimeout));
    server.on('request', (req: http.IncomingMessage) => req.socket.setTimeout(idleMs));
    server.on('drop', (data?: { remoteAddress?: string }) => {
      const peer = data?.remoteAddress ?? 'the unix socket';
      this.violations.report(`api-cap ${formatApiEndpoint(endpoint)}`, 'warn',
        `control API ${formatApiEndpoint(endpoint)}: refused a connection from ${peer}: ${plan.maxConnections} connections open (the limit)`);
    });
    const listener: Listener = { server, endpoint };
    const setting = plan.role === 'metrics' ? 'metrics.listen' : 'api.listen';
    if (endpoint.kind === 'unix') {
      await prepareSocketPath(endpoint.path, setting);
      await listen(server, setting, formatApiEndpoint(endpoint), endpoint.path);
      await fs.chmod(endpoint.path, plan.socketMode);
    } else {
      await listen(server, setting, formatApiEndpoint(endpoint), endpoint.port, endpoint.host);
      const addr = server.address() as net.AddressInfo;
      listener.endpoint = { ...endpoint, port: addr.port };
    }
    this.listeners.push(listener);
    this.log.info('control API listening', { endpoint: formatApiEndpoint(listener.endpoint) });
  }

  /**
   * A 5xx is vadc's fault: error. A 401 is worth an operator's attention, once per peer per minute (a flood of
   * them is one line). Other 4xx are the client's mistake, answered in the reply: debug.
   */
  private logRefusal(req: http.IncomingMessage, err: ApiError): void {
    const peer = req.socket.remoteAddress ?? 'the unix socket';
    const what = `${req.method ?? '?'} ${(req.url ?? '').split('?')[0].slice(0, 200)}`;
    if (err.status >= 500) this.log.error(`control API: ${what} failed: ${err.message}`, { peer });
    else if (err.status === 401) this.violations.report(`401 ${peer}`, 'warn', `control API: refused a request without a valid token from ${peer}`, { peer });
    else this.log.debug(`control API: ${err.status} ${err.message}`, { peer, request: what });
  }

  private async serveMetricsOnly(req: http.IncomingMessage, res: http.ServerResponse, metricsPath: string, token: Buffer | undefined): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vadc.invalid');
    if (token && !isAuthorized(req, token)) throw new ApiError('unauthorized', 'missing or invalid bearer token');
    if (url.pathname !== metricsPath) throw new ApiError('not_found', `this listener serves only ${metricsPath}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET');
      throw new ApiError('method_not_allowed', `method ${req.method} not allowed on ${metricsPath} (allowed: GET)`);
    }
    await this.sendMetrics(req, res);
  }

  /** OpenMetrics when the scraper asks for it (Prometheus does), else text 0.0.4. */
  private async sendMetrics(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const format = negotiateFormat(req.headers.accept);
    const text = await this.metrics.render(format);
    res.writeHead(200, { 'content-type': this.metrics.contentType(format), vary: 'Accept' });
    res.end(text);
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, token: Buffer | undefined): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vadc.invalid');
    if (token) {
      // The dashboard cannot send headers from EventSource: a one-time ?token= sets an HttpOnly cookie instead.
      const offered = url.searchParams.get('token');
      const login = url.searchParams.get('login');
      if (url.pathname === '/' && ((offered !== null && tokenMatches(token, offered)) || (login !== null && this.spendLogin(login)))) {
        res.writeHead(303, {
          'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token.toString())}; HttpOnly; SameSite=Strict; Path=/`,
          location: '/',
        });
        res.end();
        return;
      }
      if (!isAuthorized(req, token)) {
        res.setHeader('www-authenticate', 'Bearer realm="vadc"');
        throw new ApiError('unauthorized', 'missing or invalid bearer token');
      }
    }
    const match = matchRoute(req.method ?? 'GET', url.pathname);
    if (match.kind === 'not_found') throw new ApiError('not_found', `no such endpoint: ${req.method} ${url.pathname}`);
    if (match.kind === 'method_not_allowed') {
      res.setHeader('allow', match.allowed.join(', '));
      throw new ApiError('method_not_allowed', `method ${req.method} not allowed on ${url.pathname} (allowed: ${match.allowed.join(', ')})`);
    }
    const route: RouteName = match.route;
    if (route === 'dashboard') {
      const html = renderDashboard();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    if (route === 'metrics') {
      await this.sendMetrics(req, res);
      return;
    }
    if (route === 'eventStream' || (route === 'events' && isTruthy(url.searchParams.get('follow')))) {
      this.stream(req, res, url.searchParams);
      return;
    }
    const body = req.method === 'POST' || req.method === 'PUT' ? await readBody(req, this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY, route) : undefined;
    const reply = await handleJson(this.opts.runtime, { route, params: match.params, query: url.searchParams, body });
    if (reply.body === undefined) {
      res.writeHead(reply.status);
      res.end();
      return;
    }
    sendJson(res, reply.status, reply.body);
  }

  /** text/event-stream of runtime events; with ?status=1 also status snapshots (for the dashboard). */
  private stream(req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): void {
    const { runtime } = this.opts;
    const backlog = parseLimit(query.get('backlog'));
    const withStatus = isTruthy(query.get('status'));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 3000\n\n');
    let seq = 0;
    const sendStatus = () => res.write(formatSse('status', runtime.status(), ++seq));
    if (backlog) for (const e of runtime.events(backlog)) res.write(formatSse('event', e, ++seq));
    if (withStatus) sendStatus();
    const onEvent = (e: VadcEvent) => {
      res.write(formatSse('event', e, ++seq));
      if (withStatus) sendStatus();
    };
    runtime.bus.on('event', onEvent);
    const statusTimer = withStatus ? setInterval(sendStatus, this.opts.statusIntervalMs ?? 2000) : undefined;
    const heartbeat = setInterval(() => res.write(': keepalive\n\n'), this.opts.heartbeatMs ?? 15000);
    const end = () => {
      runtime.bus.off('event', onEvent);
      clearInterval(heartbeat);
      if (statusTimer) clearInterval(statusTimer);
      this.streams.delete(end);
      res.end();
    };
    this.streams.add(end);
    req.on('close', end);
  }
}

interface PlannedListener {
  endpoint: ApiEndpoint;
  socketMode: number;
  maxConnections: number;
  token?: string;
  tls?: ApiTlsOptions;
  role: 'control' | 'metrics';
  metricsPath?: string;
}

function checkListenOptions(opt: ApiListenOptions): PlannedListener {
  const endpoint = typeof opt.endpoint === 'string' ? parseApiEndpoint(opt.endpoint) : opt.endpoint;
  const where = formatApiEndpoint(endpoint);
  const role = opt.role ?? 'control';
  const kind = endpoint.kind === 'unix' ? 'unix' : endpoint.tls ? 'ssl' : 'tcp';
  // The same rule `vadc config validate` applies (src/config/api-listener.ts).
  const problems = apiListenerProblems({ kind, where, role, token: opt.token, hasTls: opt.tls !== undefined });
  if (problems.length > 0) {
    const what = (setting: 'token' | 'ssl') => (setting === 'token' ? 'token' : 'tls.cert and tls.key');
    throw new ApiServerError(`control API listener ${where}: ${problems.map((p) => `${what(p.setting)} ${p.message}`).join('; ')}`);
  }
  const maxConnections = opt.maxConnections ?? (role === 'metrics' ? DEFAULT_METRICS_CONNECTIONS : DEFAULT_API_CONNECTIONS);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new ApiServerError(`${where}: maxConnections must be a whole number >= 1, got ${maxConnections}`);
  return { endpoint, socketMode: opt.socketMode ?? 0o660, maxConnections, token: opt.token, tls: opt.tls, role, metricsPath: opt.metricsPath };
}

/** Refuses to steal a socket a live daemon is using; removes one left behind by a crash. */
async function prepareSocketPath(socketPath: string, setting: string): Promise<void> {
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o750 });
  const stat = await fs.lstat(socketPath).catch(() => undefined);
  if (!stat) return;
  if (!stat.isSocket()) throw new ApiServerError(`${socketPath} exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new ApiServerError(`${setting} unix:${socketPath}: another vadc daemon is already serving it (the two instances of a controller pair need different ${setting})`);
  await fs.rm(socketPath, { force: true });
}

function listen(server: http.Server, setting: string, target: string, portOrPath: number | string, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const refused = (err: Error) => reject(listenError(err, setting, target));
    server.once('error', refused);
    const done = () => {
      server.off('error', refused);
      resolve();
    };
    if (typeof portOrPath === 'string') server.listen(portOrPath, done);
    else server.listen(portOrPath, host, done);
  });
}

function tokenMatches(expected: Buffer, offered: string): boolean {
  const got = Buffer.from(offered);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function isAuthorized(req: http.IncomingMessage, token: Buffer): boolean {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return tokenMatches(token, auth.slice('Bearer '.length).trim());
  const cookie = req.headers.cookie
    ?.split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${TOKEN_COOKIE}=`));
  return cookie !== undefined && tokenMatches(token, decodeURIComponent(cookie.slice(TOKEN_COOKIE.length + 1)));
}

function isTruthy(value: string | null): boolean {
  return value === '1' || value === 'true' || value === 'yes';
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'];

/** Reads and parses a request body: JSON everywhere, raw YAML also accepted by PUT /v1/config. */
async function readBody(req: http.IncomingMessage, limit: number, route: RouteName): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new ApiError('payload_too_large', `request body of ${declared} bytes exceeds the ${limit}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError('payload_too_large', `request body exceeds the ${limit}-byte limit`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (route === 'applyConfig' && YAML_TYPES.includes(type)) return text;
  if (type !== 'application/json') {
    throw new ApiError('unsupported_media_type', `request body must be application/json (got "${type || 'no content-type'}")`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError('invalid', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, err: ApiError): void {
  // After a 401 or 413 the rest of the upload is not read: close the connection rather than drain it, and do
  // not wait for a client that keeps sending (it would hold the connection until the request deadline).
  if (err.status === 413 || err.status === 401) {
    res.setHeader('connection', 'close');
    res.once('finish', () => {
      res.socket?.end();
      setTimeout(() => res.socket?.destroy(), LINGER_MS).unref();
    });
  }
  sendJson(res, err.status, { error: { code: err.code, message: err.message } });
}
