/**
 * Generates docs/openapi.yaml from the zod schemas (contract.ts, schemas.ts) and the route table (router.ts)
 * with @asteasolutions/zod-to-openapi. `npm run openapi` writes the file; a unit test fails when the committed
 * file differs from what this produces, and CI lints it with Redocly's OpenAPI linter.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  configAppliedSchema, configTextSchema, connectionStatusSchema, errorSchema, flowStatusSchema, serviceStatusSchema,
  statusHistorySchema, statusSnapshotSchema, vadcEventSchema, backendStatusSchema,
} from './contract';
import type { ApiErrorCode } from './errors';
import { statusForCode } from './errors';
import { ROUTES, type RouteName } from './router';
import { backendSpecSchema, configBodySchema, serviceSpecSchema, weightBodySchema } from './schemas';

type ZodAny = z.ZodType;

interface Operation {
  summary: string;
  description?: string;
  tag: 'status' | 'services' | 'backends' | 'observe' | 'config' | 'pages';
  query?: Record<string, ZodAny>;
  body?: { json?: ZodAny; yaml?: boolean };
  /** The success reply: a status and a JSON schema, or other media types with a description. */
  ok: { status: 200 | 201 | 204 | 303; description: string; json?: ZodAny; media?: Record<string, string> };
  extra?: Array<{ status: number; description: string; headers?: Record<string, string> }>;
  errors: ApiErrorCode[];
}

const flag = z.enum(['1', 'true', 'yes']);
const limit = z.coerce.number().int().min(1).max(999999);

const BODY_ERRORS: ApiErrorCode[] = ['invalid', 'payload_too_large', 'unsupported_media_type'];

/** One entry per route the server answers; the Record type makes a new route without documentation a type error. */
const OPERATIONS: Record<RouteName, Operation> = {
  status: {
    tag: 'status', summary: 'Switches, services, backends, OVSDB state and NAT mode',
    ok: { status: 200, description: 'The snapshot', json: statusSnapshotSchema }, errors: [],
  },
  listServices: { tag: 'services', summary: 'All services with their backends', ok: { status: 200, description: 'Services', json: z.array(serviceStatusSchema) }, errors: [] },
  addService: {
    tag: 'services', summary: 'Add a service', body: { json: serviceSpecSchema },
    ok: { status: 201, description: 'The new service', json: serviceStatusSchema }, errors: [...BODY_ERRORS, 'conflict'],
  },
  getService: { tag: 'services', summary: 'One service', ok: { status: 200, description: 'The service', json: serviceStatusSchema }, errors: ['not_found'] },
  removeService: { tag: 'services', summary: 'Remove a service and its flows', ok: { status: 204, description: 'Removed' }, errors: ['not_found', 'conflict'] },
  addBackend: {
    tag: 'backends', summary: 'Add a backend to a service', body: { json: backendSpecSchema },
    ok: { status: 201, description: 'The new backend', json: backendStatusSchema }, errors: [...BODY_ERRORS, 'not_found', 'conflict'],
  },
  removeBackend: {
    tag: 'backends', summary: 'Remove a backend at once (drain first to let connections finish)',
    ok: { status: 204, description: 'Removed' }, errors: ['not_found', 'invalid', 'conflict'],
  },
  setWeight: {
    tag: 'backends', summary: 'Set the scheduling weight (0 stops new connections)', body: { json: weightBodySchema },
    ok: { status: 200, description: 'The backend after the change', json: backendStatusSchema }, errors: [...BODY_ERRORS, 'not_found', 'conflict'],
  },
  drain: {
    tag: 'backends', summary: 'Weight 0; established connections finish, then a backend_drained event',
    ok: { status: 200, description: 'The backend after the change', json: backendStatusSchema }, errors: ['not_found', 'conflict'],
  },
  enable: {
    tag: 'backends', summary: 'Back into service with the configured weight',
    ok: { status: 200, description: 'The backend after the change', json: backendStatusSchema }, errors: ['not_found', 'conflict'],
  },
  connections: {
    tag: 'observe', summary: 'Tracked connections (like ipvsadm -Lnc)',
    query: { service: z.string().optional(), backend: z.string().optional() },
    ok: { status: 200, description: 'Connections', json: z.array(connectionStatusSchema) }, errors: [],
  },
  flows: {
    tag: 'observe', summary: "vadc's flows on each switch, with their counters",
    query: { dpid: z.string().regex(/^(0x)?[0-9a-f]{1,16}$/).optional().meta({ description: 'only this switch' }) },
    ok: { status: 200, description: 'Flows', json: z.array(flowStatusSchema) }, errors: [],
  },
  events: {
    tag: 'observe', summary: 'Recent events, oldest first (with follow=1, the same stream as /v1/events/stream)',
    query: { limit: limit.optional(), follow: flag.optional() },
    ok: { status: 200, description: 'Events (a text/event-stream with follow=1)', json: z.array(vadcEventSchema), media: { 'text/event-stream': 'with follow=1' } },
    errors: ['invalid'],
  },
  history: {
    tag: 'observe', summary: 'Status samples the daemon kept (15 minutes by default), for plots that survive a page reload',
    query: { seconds: limit.optional().meta({ description: 'only the last N seconds' }) },
    ok: { status: 200, description: 'The samples', json: statusHistorySchema }, errors: ['invalid', 'not_found'],
  },
  eventStream: {
    tag: 'observe',
    summary: 'Server-sent events: `event: event` carries a VadcEvent, `event: status` a StatusSnapshot',
    query: {
      backlog: limit.optional().meta({ description: 'replay this many recent events first' }),
      status: flag.optional().meta({ description: 'also send status snapshots (on connect, after every event, periodically)' }),
    },
    ok: { status: 200, description: 'An endless text/event-stream', media: { 'text/event-stream': 'event: event (VadcEvent) and event: status (StatusSnapshot) messages' } },
    errors: ['invalid'],
  },
  getConfig: { tag: 'config', summary: 'The configuration in force, as YAML text', ok: { status: 200, description: 'The configuration', json: configTextSchema }, errors: [] },
  applyConfig: {
    tag: 'config', summary: 'Validate and apply a configuration without dropping established connections',
    body: { json: configBodySchema, yaml: true },
    ok: { status: 200, description: 'What changed', json: configAppliedSchema }, errors: [...BODY_ERRORS, 'conflict'],
  },
  metrics: {
    tag: 'pages', summary: 'Prometheus metrics; names and types in docs/api.md',
    description: 'Text format 0.0.4, or OpenMetrics 1.0 when the Accept header asks for application/openmetrics-text.',
    ok: { status: 200, description: 'Exposition text', media: { 'text/plain': 'Prometheus text format 0.0.4', 'application/openmetrics-text': 'OpenMetrics 1.0' } },
    errors: [],
  },
  dashboard: {
    tag: 'pages', summary: 'The live dashboard (one HTML page)',
    description: 'On tcp/ssl listeners open /?token=TOKEN (or /?login=ONE-TIME) once: an HttpOnly cookie carries the token from then on and the page redirects to /.',
    query: {
      token: z.string().optional().meta({ description: "the listener's bearer token" }),
      login: z.string().optional().meta({ description: 'a one-time login (vadc demo --hold prints one): works once, within 10 minutes' }),
    },
    ok: { status: 200, description: 'The page', media: { 'text/html': 'the dashboard' } },
    extra: [{ status: 303, description: 'Token or login accepted: cookie set, redirect to /', headers: { location: 'always /', 'set-cookie': 'the HttpOnly session cookie' } }],
    errors: [],
  },
};

const ERROR_TEXT: Record<ApiErrorCode, string> = {
  invalid: 'Bad request body or query; the message names each bad field, e.g. "backends[0].ip: must be an IPv4 or IPv6 address"',
  unauthorized: 'Missing or bad bearer token (tcp/ssl listeners only)',
  not_found: 'No such service or backend',
  method_not_allowed: 'The path does not answer this method; the Allow header lists the ones it does',
  conflict: 'Already exists, or this instance is the standby of a pair (make the change on the master, which the message names)',
  payload_too_large: 'Body over the limit (1 MiB by default)',
  unsupported_media_type: 'Body is not application/json',
  internal: 'A bug; logged by the daemon',
};

const DESCRIPTION = `The running vadc daemon's control surface: what \`vadc status\`, \`vadc service ...\`, \`vadc backend ...\`,
the dashboard and Prometheus use. HTTP+JSON on a unix socket by default (\`unix:/run/vadc/vadc.sock\`, mode 0660:
access is by file permission), optionally on 127.0.0.1 over TCP or TLS, where every request needs
\`Authorization: Bearer <token>\`. Errors are always \`{"error": {"code", "message"}}\`; every path answers 404 for
unknown paths and 405 (with an Allow header) for a method it does not take.

Generated from the zod schemas in src/api (npm run openapi); do not edit by hand. See docs/api.md.
`;

export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http', scheme: 'bearer', description: 'Required on tcp: and ssl: listeners only',
  });
  const errorRefs = new Map<ApiErrorCode, { $ref: string }>();
  const errorResponse = (code: ApiErrorCode) => {
    let ref = errorRefs.get(code);
    if (!ref) {
      const name = code.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
      registry.registerComponent('responses', name, { description: ERROR_TEXT[code], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
      ref = { $ref: `#/components/responses/${name}` };
      errorRefs.set(code, ref);
    }
    return ref;
  };

  for (const route of ROUTES) {
    const path = route.pattern.replace(/:(\w+)/g, '{$1}');
    const names = [...route.pattern.matchAll(/:(\w+)/g)].map((m) => m[1]);
    for (const [method, name] of Object.entries(route.methods) as Array<[string, RouteName]>) {
      const op = OPERATIONS[name];
      const responses: Record<string, unknown> = {};
      const content: Record<string, { schema: ZodAny }> = {};
      if (op.ok.json) content['application/json'] = { schema: op.ok.json };
      for (const [type, text] of Object.entries(op.ok.media ?? {})) content[type] = { schema: z.string().meta({ description: text }) };
      responses[op.ok.status] = { description: op.ok.description, ...(Object.keys(content).length ? { content } : {}) };
      for (const e of op.extra ?? []) {
        const headers = e.headers && Object.fromEntries(Object.entries(e.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' as const } }]));
        responses[e.status] = { description: e.description, ...(headers ? { headers } : {}) };
      }
      // Every route can meet these: auth on tcp/ssl, unknown path segments, another method.
      const errors = new Set<ApiErrorCode>(['unauthorized', 'method_not_allowed', ...op.errors, ...(names.length ? ['not_found' as const] : [])]);
      for (const code of [...errors].sort((a, b) => statusForCode(a) - statusForCode(b))) responses[statusForCode(code)] = errorResponse(code);
      // Inline, so the generator puts the Error schema (meta id) in components for the $refs above.
      responses.default = { description: ERROR_TEXT.internal, content: { 'application/json': { schema: errorSchema } } };
      const request: Record<string, unknown> = {};
      if (names.length) {
        request.params = z.object(Object.fromEntries(names.map((n) => [n, z.string().meta({ description: n === 'backend' ? 'the backend id (its vNIC selector)' : 'the service name' })])));
      }
      if (op.query) request.query = z.object(op.query);
      if (op.body) {
        const body: Record<string, { schema: ZodAny }> = {};
        if (op.body.json) body['application/json'] = { schema: op.body.json };
        if (op.body.yaml) body['application/yaml'] = { schema: z.string().min(1).meta({ description: 'the configuration as YAML' }) };
        request.body = { required: true, content: body };
      }
      registry.registerPath({
        method: method.toLowerCase() as 'get' | 'post' | 'put' | 'delete',
        path,
        operationId: name,
        summary: op.summary,
        ...(op.description ? { description: op.description } : {}),
        tags: [op.tag],
        request,
        responses: responses as never,
      });
    }
  }
  const generator = new OpenApiGeneratorV31(registry.definitions);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: { title: 'vadc control API', version, description: DESCRIPTION, license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
    servers: [
      { url: 'http://127.0.0.1:8181', description: 'optional tcp listener on loopback (api.listen, token required); the default unix socket takes any host name: curl --unix-socket /run/vadc/vadc.sock http://vadc/v1/status' },
      { url: 'https://127.0.0.1:8443', description: 'optional TLS listener (api.listen ssl:, token required)' },
    ],
    security: [{}, { [bearer.name]: [] }],
    tags: [
      { name: 'status', description: 'The whole picture in one call' },
      { name: 'services', description: 'Services (VIPs)' },
      { name: 'backends', description: "A service's backends (vNICs)" },
      { name: 'observe', description: 'Connections, flows, events' },
      { name: 'config', description: 'The configuration in force' },
      { name: 'pages', description: 'Metrics and the dashboard' },
    ],
  }) as unknown as Record<string, unknown>;
}

/** The YAML text of docs/openapi.yaml. */
export function openApiYaml(version: string): string {
  return `# Generated by \`npm run openapi\` from the zod schemas in src/api; do not edit.\n${stringify(buildOpenApiDocument(version), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
