import http from 'node:http';
import https from 'node:https';
import type {
  BackendSpec,
  BackendStatus,
  ConnectionStatus,
  FlowStatus,
  ServiceSpec,
  ServiceStatus,
  StatusSnapshot,
  VadcEvent,
} from '../runtime/types';
import { type ApiEndpoint, DEFAULT_API_ENDPOINT, formatApiEndpoint, parseApiEndpoint } from './endpoint';
import { ApiError, DaemonUnreachableError, isApiErrorCode } from './errors';
import { SseParser } from './sse';

export interface VadcClientOptions {
  /** `unix:PATH` (default unix:/run/vadc/vadc.sock), `tcp:HOST:PORT` or `ssl:HOST:PORT`. */
  endpoint?: string | ApiEndpoint;
  token?: string;
  /** PEM CA certificate(s) to verify an ssl: endpoint with a private CA. */
  ca?: string | Buffer;
  /** Per-request timeout for non-streaming calls (default 10 s). */
  timeoutMs?: number;
}

interface Reply {
  status: number;
  text: string;
}

/** Typed client of the control API; what the CLI uses. Errors: DaemonUnreachableError, ApiError. */
export class VadcClient {
  readonly endpoint: ApiEndpoint;

  constructor(private readonly opts: VadcClientOptions = {}) {
    const ep = opts.endpoint ?? DEFAULT_API_ENDPOINT;
    this.endpoint = typeof ep === 'string' ? parseApiEndpoint(ep) : ep;
  }

  get where(): string {
    return formatApiEndpoint(this.endpoint);
  }

  status(): Promise<StatusSnapshot> {
    return this.json('GET', '/v1/status');
  }
  services(): Promise<ServiceStatus[]> {
    return this.json('GET', '/v1/services');
  }
  service(name: string): Promise<ServiceStatus> {
    return this.json('GET', `/v1/services/${enc(name)}`);
  }
  addService(spec: ServiceSpec): Promise<ServiceStatus> {
    return this.json('POST', '/v1/services', spec);
  }
  removeService(name: string): Promise<void> {
    return this.json('DELETE', `/v1/services/${enc(name)}`);
  }
  addBackend(service: string, spec: BackendSpec): Promise<BackendStatus> {
    return this.json('POST', `/v1/services/${enc(service)}/backends`, spec);
  }
  removeBackend(service: string, backend: string): Promise<void> {
    return this.json('DELETE', backendPath(service, backend));
  }
  setWeight(service: string, backend: string, weight: number): Promise<BackendStatus> {
    return this.json('POST', `${backendPath(service, backend)}/weight`, { weight });
  }
  drain(service: string, backend: string): Promise<BackendStatus> {
    return this.json('POST', `${backendPath(service, backend)}/drain`);
  }
  enable(service: string, backend: string): Promise<BackendStatus> {
    return this.json('POST', `${backendPath(service, backend)}/enable`);
  }
  connections(filter: { service?: string; backend?: string } = {}): Promise<ConnectionStatus[]> {
    return this.json('GET', `/v1/connections${query(filter)}`);
  }
  flows(dpid?: string): Promise<FlowStatus[]> {
    return this.json('GET', `/v1/flows${query({ dpid })}`);
  }
  events(limit?: number): Promise<VadcEvent[]> {
    return this.json('GET', `/v1/events${query({ limit: limit?.toString() })}`);
  }
  async configText(): Promise<string> {
    return (await this.json<{ yaml: string }>('GET', '/v1/config')).yaml;
  }
  applyConfig(yaml: string): Promise<{ changed: string[] }> {
    return this.json('PUT', '/v1/config', { yaml });
  }
  async metricsText(): Promise<string> {
    const reply = await this.request('GET', '/metrics');
    if (reply.status !== 200) throw errorFromReply(reply);
    return reply.text;
  }

  /** Live events until `signal` aborts; `backlog` replays that many recent events first. */
  async *followEvents(opts: { backlog?: number; signal?: AbortSignal } = {}): AsyncGenerator<VadcEvent> {
    const res = await this.open('GET', `/v1/events/stream${query({ backlog: opts.backlog?.toString() })}`, undefined, opts.signal);
    if (res.statusCode !== 200) {
      const text = await readAll(res);
      throw errorFromReply({ status: res.statusCode ?? 0, text });
    }
    const parser = new SseParser();
    res.setEncoding('utf8');
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        for (const msg of parser.push(chunk)) if (msg.event === 'event') yield JSON.parse(msg.data) as VadcEvent;
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    } finally {
      res.destroy();
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const reply = await this.request(method, path, body);
    if (reply.status === 204) return undefined as T;
    if (reply.status < 200 || reply.status >= 300) throw errorFromReply(reply);
    try {
      return JSON.parse(reply.text) as T;
    } catch {
      throw new ApiError('internal', `the daemon answered ${method} ${path} with a body that is not JSON`);
    }
  }

  private async request(method: string, path: string, body?: unknown): Promise<Reply> {
    const res = await this.open(method, path, body);
    return { status: res.statusCode ?? 0, text: await readAll(res) };
  }

  private open(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const ep = this.endpoint;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const streaming = signal !== undefined || path.startsWith('/v1/events/stream');
    const options: https.RequestOptions = {
      method,
      path,
      headers,
      signal,
      ...(ep.kind === 'unix' ? { socketPath: ep.path } : { host: ep.host, port: ep.port }),
      ...(ep.kind === 'tcp' && ep.tls ? { ca: this.opts.ca } : {}),
    };
    const transport = ep.kind === 'tcp' && ep.tls ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(options, resolve);
      if (!streaming) {
        req.setTimeout(this.opts.timeoutMs ?? 10000, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      }
      req.on('error', (err: NodeJS.ErrnoException) => reject(err.code && err.name !== 'AbortError' ? new DaemonUnreachableError(this.where, err.code) : err));
      req.end(payload);
    });
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function backendPath(service: string, backend: string): string {
  return `/v1/services/${enc(service)}/backends/${enc(backend)}`;
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Rebuilds the server's `{error:{code,message}}` as an ApiError; anything else keeps the HTTP status. */
function errorFromReply(reply: Reply): ApiError {
  try {
    const parsed = JSON.parse(reply.text) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    if (isApiErrorCode(code) && typeof parsed.error?.message === 'string') return new ApiError(code, parsed.error.message, reply.status);
  } catch {
    // not JSON: fall through
  }
  return new ApiError('internal', `unexpected HTTP ${reply.status} from the daemon`, reply.status);
}
