import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseState, readState, serializeState, writeState, LabState } from '../../../src/lab/state';
import { LabError } from '../../../src/lab/errors';

const sample: LabState = {
  version: 1, name: 'u1', dir: '/tmp/vadc-lab-u1', bridge: 'br-u1', subnet: '10.9.8.0/24', localIp: '10.9.8.1',
  datapathId: '00000000deadbeef', controller: 'tcp:127.0.0.1:6653', createdAt: '2026-01-02T03:04:05.000Z',
  hosts: [{ name: 'vm1', role: 'vm', netns: 'vadc-u1-vm1', port: 'u1-vm1', ip: '10.9.8.11', mac: '02:0a:09:08:00:0b', ifaceId: 'i', vmUuid: 'u' }],
};

describe('lab state file', () => {
  it('round-trips', () => {
    expect(parseState(serializeState(sample))).toEqual(sample);
  });

  it('rejects text that is not JSON, naming the file', () => {
    expect(() => parseState('{"version":', '/x/state.json')).toThrow(/\/x\/state.json is not JSON/);
  });

  it('rejects a wrong version or a bad field with its path', () => {
    const err = (() => {
      try {
        parseState(JSON.stringify({ ...sample, version: 2 }));
      } catch (e) {
        return e as LabError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(LabError);
    expect(err.code).toBe('bad-state');
    expect(err.message).toMatch(/at 'version'/);
    const badMac = { ...sample, hosts: [{ ...sample.hosts[0], mac: 'nope' }] };
    expect(() => parseState(JSON.stringify(badMac))).toThrow(/at 'hosts.0.mac'/);
    const longPort = { ...sample, hosts: [{ ...sample.hosts[0], port: 'a'.repeat(16) }] };
    expect(() => parseState(JSON.stringify(longPort))).toThrow(/hosts.0.port/);
  });

  it('writes atomically and reads back; a missing file reads as no lab', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-unit-state-'));
    try {
      expect(readState(dir)).toBeUndefined();
      writeState({ ...sample, dir });
      expect(readState(dir)).toEqual({ ...sample, dir });
      expect(fs.readdirSync(dir)).toEqual(['state.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
