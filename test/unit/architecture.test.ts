// The map in docs/architecture.md, enforced: which part of src/ may import which. A new import across parts
// that the map does not allow fails here, so the layering is a fact, not a wish.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const SRC = path.join(__dirname, '../../src');

/** Part -> the parts it may import (values: 'types' = type-only imports). Keep in step with docs/architecture.md. */
const MAY_IMPORT: Record<string, Record<string, 'any' | 'types'>> = {
  net: {},
  util: {},
  runtime: {},
  openflow: { net: 'any' },
  flows: { net: 'any', openflow: 'any' },
  lb: { net: 'any' },
  ovsdb: { util: 'any' },
  config: { net: 'any', ovsdb: 'any', util: 'any' },
  controller: { openflow: 'any', util: 'any' },
  cluster: { config: 'any', net: 'any', ovsdb: 'any', runtime: 'types', util: 'types' },
  health: { net: 'any', config: 'any', runtime: 'any', util: 'any' },
  app: { config: 'types', controller: 'types', runtime: 'types', flows: 'any', lb: 'any', net: 'any', openflow: 'any' },
  metrics: { runtime: 'any' },
  dashboard: { net: 'any' },
  api: { runtime: 'any', metrics: 'any', dashboard: 'any', config: 'any', net: 'any', util: 'any', cli: 'types' },
  daemon: {
    app: 'any', api: 'any', config: 'any', controller: 'any', flows: 'any', health: 'any', lb: 'any', net: 'any', openflow: 'any',
    ovsdb: 'any', runtime: 'any', util: 'any', cluster: 'any',
  },
  lab: { util: 'any' },
  demo: { daemon: 'any', flows: 'any', lab: 'any', util: 'any' },
  bench: { app: 'any', config: 'any', controller: 'any', daemon: 'any', flows: 'any', lab: 'any', net: 'any', openflow: 'any', util: 'any' },
  cli: { api: 'any', cluster: 'any', lab: 'any', util: 'any' },
  commands: { api: 'any', bench: 'any', cli: 'any', cluster: 'any', config: 'any', daemon: 'any', demo: 'any', lab: 'any', net: 'any', runtime: 'any', util: 'any' },
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import of a file: the part it lands in, and whether it is type-only. */
function importsOf(file: string): { part: string; typeOnly: boolean; text: string }[] {
  const source = readFileSync(file, 'utf8');
  const out: { part: string; typeOnly: boolean; text: string }[] = [];
  for (const m of source.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/gms)) {
    const target = path.resolve(path.dirname(file), m[3]);
    const rel = path.relative(SRC, target);
    if (rel.startsWith('..')) continue;
    out.push({ part: rel.split(path.sep)[0], typeOnly: m[2] !== undefined, text: m[0].split('\n')[0] });
  }
  return out;
}

describe('architecture: what each part of src/ may import', () => {
  const parts = readdirSync(SRC).filter((name) => statSync(path.join(SRC, name)).isDirectory());

  it('every part is on the map', () => {
    expect(parts.filter((p) => !(p in MAY_IMPORT))).toEqual([]);
  });

  it.each(parts.map((p) => [p]))('%s imports only what the map allows', (part) => {
    const allowed = MAY_IMPORT[part] ?? {};
    const violations: string[] = [];
    for (const file of filesUnder(path.join(SRC, part))) {
      for (const imp of importsOf(file)) {
        if (imp.part === part || imp.part.endsWith('.ts')) continue;
        const rule = allowed[imp.part];
        if (!rule || (rule === 'types' && !imp.typeOnly)) violations.push(`${path.relative(SRC, file)}: ${imp.text}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the check sees real imports (the app imports flows, lb and the codec)', () => {
    const seen = new Set(filesUnder(path.join(SRC, 'app')).flatMap((f) => importsOf(f).map((i) => i.part)));
    expect([...seen]).toEqual(expect.arrayContaining(['flows', 'lb', 'openflow', 'net', 'controller']));
  });
});
