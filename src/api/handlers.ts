import { ConfigError, formatIssue } from '../config/errors';
import { redactSecrets, restoreSecrets, secretsOf } from '../config/secrets';
import type { VadcRuntime } from '../runtime/types';
import { RuntimeError } from '../runtime/types';
import { ApiError } from './errors';
import type { RouteName } from './router';
import { configBodySchema, parseBackendSpec, parseServiceSpec, validate, weightBodySchema } from './schemas';

/** What a JSON route answers: a status and a body (undefined = 204 No Content). */
export interface JsonReply {
  status: number;
  body?: unknown;
}

export interface JsonRequest {
  route: RouteName;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body, or raw text for PUT /v1/config sent as YAML. */
  body: unknown;
}

/** The JSON routes, one place that maps the HTTP surface onto VadcRuntime. Streams, metrics and HTML live in server.ts. */
export async function handleJson(runtime: VadcRuntime, req: JsonRequest): Promise<JsonReply> {
  const { params, query } = req;
  try {
    switch (req.route) {
      case 'status':
        return ok(runtime.status());
      case 'listServices':
        return ok(runtime.services());
      case 'getService':
        return ok(runtime.service(params.service));
      case 'addService':
        return { status: 201, body: await runtime.addService(parseServiceSpec(req.body)) };
      case 'removeService':
        await runtime.removeService(params.service);
        return { status: 204 };
      case 'addBackend':
        return { status: 201, body: await runtime.addBackend(params.service, parseBackendSpec(req.body)) };
      case 'removeBackend':
        await runtime.removeBackend(params.service, params.backend);
        return { status: 204 };
      case 'setWeight': {
        const { weight } = validate(weightBodySchema, req.body);
        return ok(await runtime.setWeight(params.service, params.backend, weight));
      }
      case 'drain':
        return ok(await runtime.drain(params.service, params.backend));
      case 'enable':
        return ok(await runtime.enable(params.service, params.backend));
      case 'connections':
        return ok(runtime.connections(compact({ service: query.get('service'), backend: query.get('backend') })));
      case 'flows':
        return ok(await runtime.flows(query.get('dpid') ?? undefined));
      case 'events':
        return ok(runtime.events(parseLimit(query.get('limit'))));
      case 'history': {
        if (!runtime.history) throw new ApiError('not_found', 'this daemon keeps no status history');
        const seconds = parseLimit(query.get('seconds'));
        return ok(runtime.history(seconds === undefined ? undefined : seconds * 1000));
      }
      case 'getConfig':
        return ok({ yaml: redactSecrets(runtime.configText()) });
      case 'applyConfig': {
        const yaml = typeof req.body === 'string' ? req.body : validate(configBodySchema, req.body).yaml;
        // What GET showed comes back with the placeholder: the token in force stays.
        return ok(await runtime.applyConfig(restoreSecrets(yaml, secretsOf(runtime.configText()))));
      }
      default:
        throw new ApiError('internal', `route ${req.route} is not a JSON route`);
    }
  } catch (err) {
    throw toApiError(err);
  }
}

function ok(body: unknown): JsonReply {
  return { status: 200, body };
}

function compact(filter: { service: string | null; backend: string | null }): { service?: string; backend?: string } {
  const out: { service?: string; backend?: string } = {};
  if (filter.service) out.service = filter.service;
  if (filter.backend) out.backend = filter.backend;
  return out;
}

export function parseLimit(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
    throw new ApiError('invalid', `query parameter limit: must be an integer 1..999999, got "${text}"`);
  }
  return Number(text);
}

/** RuntimeError codes map 1:1 to API codes; a config parse failure (ConfigError) is a bad request too. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof RuntimeError) return new ApiError(err.code, err.message);
  // One line for the CLI: "<source>: invalid configuration: services[0].vip: ...; services[1].port: ...".
  if (err instanceof ConfigError) return new ApiError('invalid', `${err.source}: invalid configuration: ${err.issues.map(formatIssue).join('; ')}`);
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError('internal', `internal error: ${message}`);
}
