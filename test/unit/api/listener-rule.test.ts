import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiServer, apiListenersFromConfig } from '../../../src/api';
import { ConfigError, parseConfig, type VadcConfig } from '../../../src/config';
import { sampleRuntime, type FakeRuntime } from './fake-runtime';

const TOKEN = 'listener-rule-token-0123456789';

/**
 * `vadc config validate` and `vadc start` must agree on every API listener: whatever validates starts, and
 * whatever start refuses, validate refuses first, naming the field (issue 18, defect 8).
 */
describe('one rule for API listeners: validate and start agree', () => {
  let dir: string;
  let rt: FakeRuntime;
  let cert: string;
  let key: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-listener-rule-'));
    cert = path.join(dir, 'cert.pem');
    key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=vadc-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    rt = await sampleRuntime();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, () => string, string | undefined][] = [
    ['a unix socket', () => `{listen: "unix:${dir}/a.sock"}`, undefined],
    ['tcp on loopback without a token', () => '{listen: "tcp:127.0.0.1:0"}', 'api.token'],
    ['tcp on loopback with a token', () => `{listen: "tcp:127.0.0.1:0", token: ${TOKEN}}`, undefined],
    ['tcp with a short token', () => '{listen: "tcp:127.0.0.1:0", token: short-token}', 'api.token'],
    ['ssl without certificate and key', () => `{listen: "ssl:127.0.0.1:0", token: ${TOKEN}}`, 'api.ssl'],
    ['ssl without a token', () => `{listen: "ssl:127.0.0.1:0", ssl: {cert: ${cert}, key: ${key}}}`, 'api.token'],
    ['ssl with a token, certificate and key', () => `{listen: "ssl:127.0.0.1:0", token: ${TOKEN}, ssl: {cert: ${cert}, key: ${key}}}`, undefined],
    ['tcp with ssl settings', () => `{listen: "tcp:127.0.0.1:0", token: ${TOKEN}, ssl: {cert: ${cert}, key: ${key}}}`, 'api.ssl'],
  ];

  it.each(cases)('%s', async (_name, api, refusedAt) => {
    const text = `services: []\napi: ${api()}\n`;
    let config: VadcConfig | undefined;
    let validateError: unknown;
    try {
      config = parseConfig(text);
    } catch (err) {
      validateError = err;
    }
    if (refusedAt) {
      expect(validateError).toBeInstanceOf(ConfigError);
      expect((validateError as ConfigError).issues.map((i) => i.path)).toContain(refusedAt);
      return;
    }
    expect(validateError).toBeUndefined();
    const server = await ApiServer.start({ runtime: rt, listen: apiListenersFromConfig(config!, path.join(dir, 'default.sock')) });
    await server.close();
  });

  it('start refuses what validate refuses, with the same reason', async () => {
    const started = ApiServer.start({ runtime: rt, listen: [{ endpoint: 'tcp:127.0.0.1:0' }] });
    await expect(started).rejects.toThrow(/tcp:127\.0\.0\.1:0.*token/);
    expect(() => parseConfig('api: {listen: "tcp:127.0.0.1:0"}\n')).toThrow(/api\.token: .*reachable by every local user/);
  });
});
