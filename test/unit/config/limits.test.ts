import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, DEFAULT_MAX_CONFIG_BYTES, loadConfig, maxConfigBytes, parseConfig, parseConfigOffThread } from '../../../src/config';
import { bigConfig } from '../../helpers/big-config';

const issuesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  }
  throw new Error('accepted');
};

describe('configuration size is bounded (issue 18, defect 9)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-config-limits-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a file over the limit before parsing it, saying the size and the limit', async () => {
    const file = path.join(dir, 'big.yaml');
    const text = bigConfig(1600); // valid, ~1.3 MiB
    expect(Buffer.byteLength(text)).toBeGreaterThan(DEFAULT_MAX_CONFIG_BYTES);
    writeFileSync(file, text);
    const err = await loadConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ path: '', message: `${Buffer.byteLength(text)} bytes is over the ${DEFAULT_MAX_CONFIG_BYTES}-byte limit for a configuration (VADC_MAX_CONFIG_BYTES)` }]);
  });

  it('takes its limit from VADC_MAX_CONFIG_BYTES, and says what is wrong with a bad one', () => {
    expect(maxConfigBytes({})).toBe(DEFAULT_MAX_CONFIG_BYTES);
    expect(maxConfigBytes({ VADC_MAX_CONFIG_BYTES: '4194304' })).toBe(4194304);
    expect(() => maxConfigBytes({ VADC_MAX_CONFIG_BYTES: '1e9x' })).toThrow(/expected a whole number of bytes >= 1024, got "1e9x"/);
  });

  it('bounds each string, list of arguments, environment and the number of services, naming the path', () => {
    const service = (extra: string) => `services:\n  - name: web\n    vip: 10.0.0.100\n    port: 80\n${extra}\n    backends:\n      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }\n`;
    expect(issuesOf(() => parseConfig(service(`    launch: {command: "${'x'.repeat(5000)}"}`)))).toEqual(['services[0].launch.command: expected at most 4096 characters, got 5000']);
    expect(issuesOf(() => parseConfig(service(`    health: {type: udp, send: "${'x'.repeat(4097)}"}`)))).toEqual(['services[0].health.send: expected at most 4096 characters, got 4097']);
    expect(issuesOf(() => parseConfig(service(`    health: {type: http, expect_body_match: "${'a'.repeat(1025)}"}`)))).toEqual(['services[0].health.expect_body_match: expected at most 1024 characters, got 1025']);
    const env = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, 'x']));
    expect(issuesOf(() => parseConfig(service(`    launch: {command: x, env: ${JSON.stringify(env)}}`)))).toEqual(['services[0].launch.env: expected at most 64 variables']);
    const many = `services:\n${Array.from({ length: 4097 }, (_, i) => `  - {name: s${i}, vip: 10.1.${i >> 8}.${(i & 255) || 1}, port: ${(i % 60000) + 1}, backends: [{vnic: v, ip: 10.9.0.1, ports: [80]}]}\n`).join('')}`;
    expect(issuesOf(() => parseConfig(many))).toContain('services: expected at most 4096 services');
  });
});

describe('parsing off the main thread', () => {
  // From the TypeScript sources each worker first loads the transpiler: seconds on a loaded machine.
  jest.setTimeout(60_000);

  it('gives the same configuration, and the same issues, as parseConfig', async () => {
    const text = bigConfig(3);
    // The time bound is the next test's subject; here a worker that loads the transpiler slowly (over 30 s at load
    // 20, the final landing of stop 31) must not turn a comparison of results into a timeout.
    const inWorker = { inlineUpToBytes: 0, timeoutMs: 150_000 };
    await expect(parseConfigOffThread(text, 'applied', inWorker)).resolves.toEqual(parseConfig(text, 'applied'));
    const bad = text.replace('port: 80', 'port: 99999');
    const err = await parseConfigOffThread(bad, 'applied', inWorker).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual(issuesOf(() => parseConfig(bad)).map((line) => ({ path: line.split(': ')[0], message: line.split(': ').slice(1).join(': ') })));
  }, 320_000);

  it('bounds the parser: size, time and memory each end it with a clear error', async () => {
    await expect(parseConfigOffThread('x'.repeat(2048), 'applied', { maxBytes: 1024 })).rejects.toThrow(/2048 bytes is over the 1024-byte limit/);
    await expect(parseConfigOffThread(bigConfig(400), 'applied', { timeoutMs: 1 })).rejects.toThrow(/not parsed within 1 ms; parsing stopped/);
    // 120 MiB holds the parser's start (under ts-node here ~60 MiB) and a small text, not a ~1 MiB one (~250 MiB).
    const heap = { maxHeapMb: 120, inlineUpToBytes: 0, timeoutMs: 150_000 };
    await expect(parseConfigOffThread(bigConfig(3), 'applied', heap)).resolves.toEqual(parseConfig(bigConfig(3), 'applied'));
    await expect(parseConfigOffThread(bigConfig(1200), 'applied', heap)).rejects.toThrow(/parsing needed more than 120 MiB of memory; parsing stopped/);
  }, 320_000);

  it('parses in a child process: a parser over its heap limit ends alone, this process goes on', async () => {
    // A worker thread at its limit could abort the whole process (Node issue 47224); a child process cannot.
    await expect(parseConfigOffThread(bigConfig(1200), 'applied', { maxHeapMb: 8, inlineUpToBytes: 0 })).rejects.toThrow(/parsing needed more than 8 MiB of memory; parsing stopped/);
    await expect(parseConfigOffThread(bigConfig(3), 'applied', { inlineUpToBytes: 0, timeoutMs: 150_000 })).resolves.toEqual(parseConfig(bigConfig(3), 'applied'));
  }, 320_000);
});
