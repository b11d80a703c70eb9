// Checks HTTP responses against the API contract as generated (docs/openapi.yaml): the status must be one the
// operation documents (or its `default`), the media type one it lists, and a JSON body must validate against
// the schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). Used by the e2e suites on every API response.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { parse } from 'yaml';

interface MediaObject { schema?: unknown }
interface ResponseObject { $ref?: string; content?: Record<string, MediaObject> }
interface OperationObject { operationId: string; responses: Record<string, ResponseObject> }
interface OpenApiDoc {
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, unknown>; responses?: Record<string, ResponseObject> };
}

const CONTRACT = path.resolve(__dirname, '../../docs/openapi.yaml');

/** Component refs become ids Ajv can resolve: #/components/schemas/X -> X.json. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', '') + '.json' : rewriteRefs(v)]));
  }
  return value;
}

export interface ContractCheck {
  method: string;
  /** The request path, with or without a query string. */
  path: string;
  status: number;
  contentType?: string;
  /** The response text (parsed as JSON when the media type is JSON). */
  body: string;
}

export class ApiContract {
  private readonly doc: OpenApiDoc;
  private readonly ajv = new Ajv2020({ allErrors: true, strict: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ re: RegExp; template: string }>;
  /** operationId + status of every response checked, for coverage reports. */
  readonly seen = new Set<string>();

  constructor(file = CONTRACT) {
    this.doc = parse(readFileSync(file, 'utf8')) as OpenApiDoc;
    this.ajv.addFormat('ipv4', /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/);
    for (const [name, schema] of Object.entries(this.doc.components.schemas)) this.ajv.addSchema(rewriteRefs(schema) as object, `${name}.json`);
    this.routes = Object.keys(this.doc.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}/?$`),
    }));
  }

  /** The problems with one response; empty when it keeps the contract. */
  problems(r: ContractCheck): string[] {
    const pathname = r.path.split('?')[0];
    const where = `${r.method} ${r.path} -> ${r.status}`;
    const route = this.routes.find((x) => x.re.test(pathname));
    if (!route) return r.status === 404 ? [] : [`${where}: no such path in the contract`];
    const op = this.doc.paths[route.template][r.method.toLowerCase()];
    if (!op) return r.status === 405 ? [] : [`${where}: the contract has no ${r.method} on ${route.template}`];
    let response = op.responses[String(r.status)] ?? op.responses.default;
    if (!response) return [`${where}: status not documented for ${op.operationId}`];
    if (response.$ref) response = this.doc.components.responses![response.$ref.split('/').pop()!];
    this.seen.add(`${op.operationId} ${r.status}`);
    if (!response.content) return r.body.length === 0 ? [] : [`${where}: documented without a body, got ${r.body.length} bytes`];
    const type = (r.contentType ?? '').split(';')[0].trim();
    const media = response.content[type];
    if (!media) return [`${where}: media type "${type}" not among ${Object.keys(response.content).join(', ')}`];
    if (type !== 'application/json') return [];
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      return [`${where}: body is not JSON: ${r.body.slice(0, 200)}`];
    }
    const key = `${route.template} ${r.method} ${r.status}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(rewriteRefs(media.schema) as object);
      this.compiled.set(key, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${where}: ${e.instancePath || '(body)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  }

  /** Validates one named schema (e.g. a VadcEvent or StatusSnapshot carried by the event stream). */
  schemaProblems(name: string, value: unknown): string[] {
    const validate = this.ajv.getSchema(`${name}.json`);
    if (!validate) return [`no schema ${name} in the contract`];
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${name}: ${e.instancePath || '(value)'} ${e.message}`);
  }
}
