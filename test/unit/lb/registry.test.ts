import {
  Backend, LbInputError, LbService, SCHEDULER_NAMES, createScheduler,
} from '../../../src/lb';
import { AddressError, ipv4ToUint32, uint32ToIpv4 } from '../../../src/net';
import { members, packet } from './fixtures';

describe('scheduler registry', () => {
  it('creates every named scheduler, each picking a backend from a healthy service', () => {
    for (const name of SCHEDULER_NAMES) {
      const scheduler = createScheduler(name);
      expect(scheduler.name).toBe(name);
      expect(scheduler.pick(members([1, 1]), packet(), 0)).toBeInstanceOf(Backend);
    }
  });

  it('every scheduler returns null when all backends are down (the caller refuses cleanly)', () => {
    for (const name of SCHEDULER_NAMES) {
      const list = members([1, 1]);
      list.forEach((b) => (b.available = false));
      expect([name, createScheduler(name).pick(list, packet(), 0)]).toEqual([name, null]);
    }
  });

  it('rejects an unknown name with a typed error naming the choices', () => {
    const attempt = () => createScheduler('fastest');
    expect(attempt).toThrow(LbInputError);
    expect(attempt).toThrow(/unknown scheduler "fastest"; expected one of rr, wrr/);
    expect(attempt).toThrow(new LbInputError('scheduler', `unknown scheduler "fastest"; expected one of ${SCHEDULER_NAMES.join(', ')}`));
    expect(attempt).toThrow(/^scheduler: unknown scheduler/); // the field named
  });
});

describe('addresses and bad input', () => {
  it('converts dotted quads to uint32 and back', () => {
    expect(ipv4ToUint32('10.0.0.1')).toBe(0x0a000001);
    expect(ipv4ToUint32('255.255.255.255')).toBe(0xffffffff);
    expect(uint32ToIpv4(0xc0a80102)).toBe('192.168.1.2');
  });

  it('rejects malformed addresses, ports, weights and duplicate backends', () => {
    expect(() => ipv4ToUint32('10.0.0.256')).toThrow(/octet 256/);
    expect(() => ipv4ToUint32('10.0.0')).toThrow(AddressError);
    expect(() => uint32ToIpv4(-1)).toThrow(AddressError);
    expect(() => new Backend({ id: 'vm1', ip: '10.0.0.1', ports: [] })).toThrow(/vm1.ports: expected at least one/);
    expect(() => new Backend({ id: 'vm1', ip: '10.0.0.1', ports: [70000] })).toThrow(/1..65535/);
    expect(() => new Backend({ id: 'vm1', ip: '10.0.0.1', ports: [80], weight: -1 })).toThrow(/weight/);
    expect(() => new LbService([
      { id: 'vm1', ip: '10.0.0.1', ports: [80] }, { id: 'vm1', ip: '10.0.0.2', ports: [80] },
    ], { scheduler: 'rr' })).toThrow(/duplicate backend vm1/);
    const service = new LbService([{ id: 'vm1', ip: '10.0.0.1', ports: [80] }], { scheduler: 'rr' });
    expect(() => service.setWeight('vm2', 1)).toThrow(/no backend vm2/);
  });
});
