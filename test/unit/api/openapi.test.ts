import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROUTES } from '../../../src/api';
import { backendSpecSchema, serviceSpecSchema } from '../../../src/api/schemas';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
}

const doc = parse(readFileSync(path.resolve(__dirname, '../../../docs/openapi.yaml'), 'utf8')) as OpenApiDoc;

describe('docs/openapi.yaml matches the server', () => {
  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0');
  });

  it('describes every route and method the server answers, and nothing else', () => {
    const served = ROUTES.flatMap((r) => Object.keys(r.methods).map((m) => `${m.toLowerCase()} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`)).sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([p, item]) => Object.keys(item).filter((k) => ['get', 'post', 'put', 'delete'].includes(k)).map((m) => `${m} ${p}`))
      .sort();
    expect(documented).toEqual(served);
  });

  it('documents the request body fields the server validates', () => {
    expect(Object.keys(doc.components.schemas.ServiceSpec.properties ?? {}).sort()).toEqual(Object.keys(serviceSpecSchema.shape).sort());
    expect(Object.keys(doc.components.schemas.BackendSpec.properties ?? {}).sort()).toEqual(Object.keys(backendSpecSchema.shape).sort());
  });
});
