/**
 * The control API's route table as data, and a pure matcher: (method, path) -> route + params,
 * or the reason there is none (404 unknown path, 405 known path with another method).
 */
export type RouteName =
  | 'status'
  | 'listServices'
  | 'addService'
  | 'getService'
  | 'removeService'
  | 'addBackend'
  | 'removeBackend'
  | 'setWeight'
  | 'drain'
  | 'enable'
  | 'connections'
  | 'flows'
  | 'events'
  | 'history'
  | 'eventStream'
  | 'getConfig'
  | 'applyConfig'
  | 'metrics'
  | 'dashboard';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RouteDef {
  pattern: string; // segments; ':name' captures one segment
  methods: Partial<Record<HttpMethod, RouteName>>;
}

export const ROUTES: readonly RouteDef[] = [
  { pattern: '/', methods: { GET: 'dashboard' } },
  { pattern: '/metrics', methods: { GET: 'metrics' } },
  { pattern: '/v1/status', methods: { GET: 'status' } },
  { pattern: '/v1/services', methods: { GET: 'listServices', POST: 'addService' } },
  { pattern: '/v1/services/:service', methods: { GET: 'getService', DELETE: 'removeService' } },
  { pattern: '/v1/services/:service/backends', methods: { POST: 'addBackend' } },
  { pattern: '/v1/services/:service/backends/:backend', methods: { DELETE: 'removeBackend' } },
  { pattern: '/v1/services/:service/backends/:backend/weight', methods: { POST: 'setWeight' } },
  { pattern: '/v1/services/:service/backends/:backend/drain', methods: { POST: 'drain' } },
  { pattern: '/v1/services/:service/backends/:backend/enable', methods: { POST: 'enable' } },
  { pattern: '/v1/connections', methods: { GET: 'connections' } },
  { pattern: '/v1/flows', methods: { GET: 'flows' } },
  { pattern: '/v1/events', methods: { GET: 'events' } },
  { pattern: '/v1/history', methods: { GET: 'history' } },
  { pattern: '/v1/events/stream', methods: { GET: 'eventStream' } },
  { pattern: '/v1/config', methods: { GET: 'getConfig', PUT: 'applyConfig' } },
];

export type RouteMatch =
  | { kind: 'route'; route: RouteName; params: Record<string, string> }
  | { kind: 'not_found' }
  | { kind: 'method_not_allowed'; allowed: HttpMethod[] };

export function matchRoute(method: string, pathname: string): RouteMatch {
  const segments = splitPath(pathname);
  if (segments === undefined) return { kind: 'not_found' };
  for (const def of ROUTES) {
    const params = matchPattern(def.pattern, segments);
    if (!params) continue;
    // HEAD is answered like GET by node's http server for bodies we write; treat it as GET for routing.
    const effective = (method === 'HEAD' ? 'GET' : method) as HttpMethod;
    const route = def.methods[effective];
    if (route) return { kind: 'route', route, params };
    return { kind: 'method_not_allowed', allowed: Object.keys(def.methods) as HttpMethod[] };
  }
  return { kind: 'not_found' };
}

/** Splits and percent-decodes path segments; undefined for a malformed escape. A trailing '/' is ignored. */
function splitPath(pathname: string): string[] | undefined {
  const parts = pathname.split('/').filter((p) => p.length > 0);
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

function matchPattern(pattern: string, segments: string[]): Record<string, string> | undefined {
  const want = pattern.split('/').filter((p) => p.length > 0);
  if (want.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = segments[i];
    else if (want[i] !== segments[i]) return undefined;
  }
  return params;
}
