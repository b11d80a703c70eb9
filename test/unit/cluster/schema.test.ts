import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ELECTION_TABLES, hostLockName, loadPolicyCache, parseScope, POLICY_TABLES, savePolicyCache, schemaVersionProblem, scopesFor, STATUS_TABLES, STORE_DB,
  STORE_SCHEMA_VERSION, type PolicySnapshot,
} from '../../../src/cluster';
import { checkLockName } from '../../../src/ovsdb';

const schemaFile = path.join(__dirname, '../../../schema/vadc.ovsschema');

describe('the store schema', () => {
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { name: string; version: string; tables: Record<string, unknown> };

  it('schema/vadc.ovsschema is the one the code reads (name, version, tables)', () => {
    expect(schema.name).toBe(STORE_DB);
    expect(schema.version).toBe(STORE_SCHEMA_VERSION);
    expect(Object.keys(schema.tables).sort()).toEqual([...POLICY_TABLES, ...STATUS_TABLES, ...ELECTION_TABLES].sort());
  });

  it('every table is documented in docs/cluster.md', () => {
    const doc = readFileSync(path.join(__dirname, '../../../docs/cluster.md'), 'utf8');
    for (const table of Object.keys(schema.tables)) expect(doc).toContain(`### \`${table}\``);
  });

  it('versions: same major and a minor at least ours, as ovsdb(7) numbers them', () => {
    expect(schemaVersionProblem('1.0.0', '1.0.0')).toBeUndefined();
    expect(schemaVersionProblem('1.3.7', '1.2.0')).toBeUndefined();
    expect(schemaVersionProblem('1.1.0', '1.2.0')).toMatch(/older than this vadc's 1\.2\.0: convert the store/);
    expect(schemaVersionProblem('2.0.0', '1.2.0')).toMatch(/store has VADC 2\.0\.0, this vadc needs 1\.x \(>= 1\.2\.0\): upgrade vadc/);
    expect(schemaVersionProblem('0.9.0', '1.2.0')).toMatch(/convert the store/);
    expect(schemaVersionProblem('abc', '1.0.0')).toMatch(/no x\.y\.z version/);
  });

  it('scopes: cluster, group:NAME, host:NAME; a host sees cluster, its group, itself', () => {
    expect(parseScope('cluster')).toEqual({ kind: 'cluster' });
    expect(parseScope('group:web-tier.1')).toEqual({ kind: 'group', name: 'web-tier.1' });
    expect(() => parseScope('host:')).toThrow(RangeError);
    expect(() => parseScope('Cluster')).toThrow(/not cluster, group:NAME or host:NAME/);
    expect(scopesFor('h1', 'blue')).toEqual(['cluster', 'group:blue', 'host:h1']);
    expect(scopesFor('h1')).toEqual(['cluster', 'host:h1']);
  });

  it('a host name becomes a valid OVSDB lock name, one per name', () => {
    for (const name of ['h1', 'hv-01.rack7', 'A_b']) expect(() => checkLockName(hostLockName(name))).not.toThrow();
    expect(hostLockName('a-b')).not.toBe(hostLockName('a.b'));
  });
});

describe('the policy cache on local disk', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vadc-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const snapshot: PolicySnapshot = {
    cluster: { uuid: 'c', name: 'lab' }, groups: [], hosts: [],
    services: [{ uuid: 's', name: 'web', scope: 'cluster', vip: '10.0.0.100', port: 80, options: { persistence: '5' } }],
    backends: [{ uuid: 'b', service: 'web', name: 'w1', scope: 'cluster', vnic: 'v-vm1', ip: '10.0.0.11', ports: [80], options: {} }],
  };

  it('round-trips, owner-only, atomically replaced', () => {
    const file = path.join(dir, 'sub', 'policy.json');
    savePolicyCache(file, { savedAt: 1, remotes: 'unix:/x', snapshot });
    savePolicyCache(file, { savedAt: 2, remotes: 'unix:/x', snapshot });
    expect(loadPolicyCache(file)).toEqual({ savedAt: 2, remotes: 'unix:/x', snapshot });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('no file is no cache; a damaged or foreign file is a clear error', () => {
    expect(loadPolicyCache(path.join(dir, 'none.json'))).toBeUndefined();
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"version":1,');
    expect(() => loadPolicyCache(bad)).toThrow(/is not JSON/);
    writeFileSync(bad, '{"version":1,"savedAt":1,"remotes":"x","snapshot":{"groups":[],"hosts":[],"services":[{}],"backends":[]}}');
    expect(() => loadPolicyCache(bad)).toThrow(/is not a vadc policy cache \(snapshot\.services\.0\.uuid/);
  });
});
