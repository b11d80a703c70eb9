import { ConfigError, parseConfig } from '../../../src/config';

function issuesOf(text: string): string[] {
  try {
    parseConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('accepted');
}

const service = (vip: string, backendIp = '10.0.0.11', scheduler = 'rr') =>
  `services:\n  - {name: web, vip: "${vip}", port: 80, scheduler: ${scheduler}, backends: [{vnic: v-vm1, ip: "${backendIp}", ports: [8080]}]}\n`;

describe('VIPs and backends are unicast host addresses (issue 18, defect 11)', () => {
  it.each([
    ['0.0.0.0', 'in 0.0.0.0/8 ("this network"), not a host address'],
    ['224.0.0.251', 'a multicast address (224.0.0.0/4)'],
    ['239.255.255.250', 'a multicast address (224.0.0.0/4)'],
    ['255.255.255.255', 'the broadcast address'],
    ['127.0.0.1', 'a loopback address (127.0.0.0/8)'],
    ['240.0.0.1', 'reserved (240.0.0.0/4)'],
  ])('refuses the VIP %s', (vip, what) => {
    expect(issuesOf(service(vip))).toEqual([`services[0].vip: expected a unicast VIP: ${vip} is ${what}`]);
  });

  it.each([['255.255.255.255', 'the broadcast address'], ['0.0.0.0', 'in 0.0.0.0/8 ("this network"), not a host address'], ['224.0.0.1', 'a multicast address (224.0.0.0/4)']])(
    'refuses the backend address %s', (ip, what) => {
      expect(issuesOf(service('10.0.0.100', ip))).toEqual([`services[0].backends[0].ip: expected a unicast host address: ${ip} is ${what}`]);
    });

  it('refuses a VIP prefix that reaches into those blocks, and accepts ordinary ones', () => {
    expect(issuesOf(service('0.0.0.0/0', '10.0.0.11', 'dh'))).toEqual(['services[0].vip: expected a prefix of unicast addresses: 0.0.0.0/0 reaches into 0.0.0.0/8 ("this network")']);
    expect(issuesOf(service('224.0.0.0/8', '10.0.0.11', 'dh'))).toEqual(['services[0].vip: expected a prefix of unicast addresses: 224.0.0.0/8 reaches into multicast 224.0.0.0/4']);
    expect(parseConfig(service('10.2.0.0/16', '10.0.0.11', 'dh')).services[0].vip).toBe('10.2.0.0/16');
    expect(parseConfig(service('192.168.7.1', '172.16.0.9')).services[0].backends[0].ip).toBe('172.16.0.9');
  });
});
