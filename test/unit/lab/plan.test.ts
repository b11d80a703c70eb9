import {
  fnv1a32, ipv6ForIp, labSubnetBase, macForIp, nextFreeHostName, nextFreeOctet, planHost, planLab, portPrefix, stableUuid,
  subnetInUse, validateHostName, validateLabName,
} from '../../../src/lab/plan';
import { LabError } from '../../../src/lab/errors';

describe('lab naming and address plan', () => {
  it('gives the default lab 10.0.0.0/24, ports v-vm1.. and v-cl1..', () => {
    const lab = planLab();
    expect(lab).toEqual({
      name: 'vadc', bridge: 'br-vadc', subnet: '10.0.0.0/24', prefixLength: 24, localIp: '10.0.0.1',
      datapathId: '000000000a000001',
    });
    expect(planHost(lab, 'vm', 'vm1', 11)).toMatchObject({ port: 'v-vm1', netns: 'vadc-vm1', ip: '10.0.0.11', mac: '02:0a:00:00:00:0b' });
    expect(planHost(lab, 'vm', 'vm2', 12)).toMatchObject({ port: 'v-vm2', ip: '10.0.0.12' });
    expect(planHost(lab, 'client', 'cl1', 101)).toMatchObject({ port: 'v-cl1', netns: 'vadc-cl1', ip: '10.0.0.101', mac: '02:0a:00:00:00:65' });
  });

  it('gives every host an IPv6 twin of its address: one unique-local /64 per lab /24, the last byte kept', () => {
    expect(planHost(planLab(), 'vm', 'vm1', 11).ip6).toBe('fd00:0:a00::b');
    expect(planHost(planLab(), 'client', 'cl1', 101).ip6).toBe('fd00:0:a00::65');
    expect(ipv6ForIp('10.0.0.100')).toBe('fd00:0:a00::64');
    expect(ipv6ForIp('10.201.7.254')).toBe('fd00:0:ac9:700::fe');
    const other = planLab('t42');
    const [a, b, c] = other.localIp.split('.').map(Number);
    expect(planHost(other, 'vm', 'vm1', 11).ip6).toBe(ipv6ForIp(`${a}.${b}.${c}.11`));
  });

  it('prefixes other labs with their name and gives them another 10.x.y.0/24', () => {
    const lab = planLab('t42');
    expect(portPrefix('t42')).toBe('t42');
    expect(lab.bridge).toBe('br-t42');
    expect(lab.subnet).not.toBe('10.0.0.0/24');
    expect(lab.subnet).toMatch(/^10\.(\d+)\.(\d+)\.0\/24$/);
    const [, second] = labSubnetBase('t42');
    expect(second).toBeGreaterThanOrEqual(1);
    expect(second).toBeLessThanOrEqual(200);
    const vm = planHost(lab, 'vm', 'vm1', 11);
    expect(vm.port).toBe('t42-vm1');
    expect(vm.netns).toBe('vadc-t42-vm1');
    expect(vm.ip).toBe(lab.localIp.replace(/1$/, '11'));
  });

  it('is stable: the same name gives the same plan, different names differ', () => {
    expect(planLab('abc')).toEqual(planLab('abc'));
    expect(planLab('abc').subnet).not.toBe(planLab('abd').subnet);
    expect(planLab('abc').datapathId).toMatch(/^[0-9a-f]{16}$/);
    expect(planLab('abc').datapathId).not.toBe(planLab('abd').datapathId);
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
  });

  it('keeps every port name within 15 characters', () => {
    const lab = planLab('abcde');
    expect(planHost(lab, 'client', 'zzzzzz', 254).port.length).toBeLessThanOrEqual(15);
  });

  it('rejects bad lab and host names with a typed error', () => {
    for (const bad of ['', 'ABC', 'toolong', 'a-b', 'v']) {
      expect(() => validateLabName(bad)).toThrow(LabError);
    }
    expect(() => validateLabName('toolong')).toThrow(/1 to 5 characters/);
    expect(() => validateLabName('v')).toThrow(/reserved/);
    expect(() => validateHostName('1vm')).toThrow(LabError);
    expect(() => validateHostName('vm1234x')).toThrow(/invalid/);
    expect(validateHostName('web1')).toBe('web1');
  });

  it('rejects addresses outside the role range', () => {
    const lab = planLab();
    expect(() => planHost(lab, 'vm', 'vm1', 101)).toThrow(/outside \.11-\.100/);
    expect(() => planHost(lab, 'client', 'cl1', 11)).toThrow(/outside \.101-\.254/);
  });

  it('makes RFC 4122 version-5 shaped, stable UUIDs', () => {
    const uuid = stableUuid('x');
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableUuid('x')).toBe(uuid);
    expect(stableUuid('y')).not.toBe(uuid);
  });

  it('spells the IP in the MAC', () => {
    expect(macForIp('10.147.188.255')).toBe('02:0a:93:bc:00:ff');
  });

  it('picks the lowest free address and name', () => {
    expect(nextFreeOctet('vm', [11, 12, 14])).toBe(13);
    expect(nextFreeOctet('client', [])).toBe(101);
    expect(() => nextFreeOctet('vm', Array.from({ length: 90 }, (_, i) => 11 + i))).toThrow(/no free vm address/);
    expect(nextFreeHostName('vm', ['vm1', 'vm2', 'cl1'])).toBe('vm3');
    expect(nextFreeHostName('client', ['vm1', 'cl2'])).toBe('cl1');
  });

  it('finds a subnet already configured on the host', () => {
    const output = [
      '1: lo    inet 127.0.0.1/8 scope host lo',
      '5: br-x    inet 10.0.0.1/24 scope global br-x',
    ].join('\n');
    expect(subnetInUse(output, '10.0.0.0/24')).toBe(true);
    expect(subnetInUse(output, '10.0.1.0/24')).toBe(false);
    expect(subnetInUse('7: e    inet 10.0.0.10/8 scope global e', '10.0.0.0/24')).toBe(true);
    expect(subnetInUse('7: e    inet 110.0.0.10/8 scope global e', '10.0.0.0/24')).toBe(false);
  });
});
