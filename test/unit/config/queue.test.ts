import { parseConfig } from '../../../src/config';
import { issuesOf } from '../../helpers/config-issues';

/** One service with two backends; `q1`/`q2` are each backend's queue line (flow YAML), `egress` the section. */
function config(q1: string, q2 = '', egress = 'egress: { port: eth1 }'): string {
  return `${egress}
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
      - vnic: v-vm1
        ip: 10.0.0.11
        ports: [8080]
${q1 ? `        queue: ${q1}\n` : ''}      - vnic: v-vm2
        ip: 10.0.0.12
        ports: [8080]
${q2 ? `        queue: ${q2}\n` : ''}`;
}

describe('egress queue settings', () => {
  it('takes rates in bit/s and a priority, with the egress defaults', () => {
    const c = parseConfig(config('{ min_rate: 1000000, max_rate: 50000000, priority: 3 }', '{ max_rate: 20000000 }'));
    expect(c.services[0].backends[0].queue).toEqual({ min_rate: 1_000_000, max_rate: 50_000_000, priority: 3 });
    expect(c.services[0].backends[1].queue).toEqual({ max_rate: 20_000_000 });
    expect(c.egress).toEqual({ port: 'eth1', qos_type: 'linux-htb', police: false });
  });

  it('has no queue and no egress when not asked for', () => {
    const c = parseConfig(config('', '', ''));
    expect(c.egress).toBeUndefined();
    expect(c.services[0].backends[0].queue).toBeUndefined();
  });

  it.each([
    ['{ max_rate: -5 }', 'services[0].backends[0].queue.max_rate', 'expected max_rate: a whole number of bit/s 1..10000000000000, got -5'],
    ['{ min_rate: 0 }', 'services[0].backends[0].queue.min_rate', 'expected min_rate: a whole number of bit/s 1..10000000000000, got 0'],
    ['{ max_rate: 1.5 }', 'services[0].backends[0].queue.max_rate', 'expected max_rate: a whole number of bit/s 1..10000000000000, got 1.5'],
    ['{ max_rate: "10M" }', 'services[0].backends[0].queue.max_rate', 'expected max_rate: a whole number of bit/s 1..10000000000000, got "10M"'],
    ['{ max_rate: 100000000000000 }', 'services[0].backends[0].queue.max_rate', 'expected max_rate: a whole number of bit/s 1..10000000000000, got 100000000000000'],
    ['{ priority: -1 }', 'services[0].backends[0].queue.priority', 'expected priority: an integer 0..4294967295 (lower is served first), got -1'],
    ['{ min_rate: 2000, max_rate: 1000 }', 'services[0].backends[0].queue.min_rate', 'expected min_rate <= max_rate (1000 bit/s), got 2000'],
    ['{}', 'services[0].backends[0].queue', 'expected at least one of min_rate, max_rate, priority (an empty queue limits nothing)'],
    ['{ max: 5, max_rate: 100 }', 'services[0].backends[0].queue.max', 'unknown key; allowed here: min_rate, max_rate, priority'],
  ])('refuses queue %s', (queue, path, message) => {
    expect(issuesOf(config(queue))).toEqual([{ path, message }]);
  });

  it('refuses a queue without the egress section', () => {
    expect(issuesOf(config('{ max_rate: 1000 }', '', ''))).toEqual([
      { path: 'services[0].backends[0].queue', message: 'needs the egress section: egress.port names the uplink port the queue lives on' },
    ]);
  });

  it('refuses bad egress settings', () => {
    expect(issuesOf(config('', '', 'egress: { port: "a b", qos_type: linux-cake, police: 1, max_rate: 0 }'))).toEqual([
      { path: 'egress.port', message: 'expected an OVS port name (1..15 characters, no spaces or /), got "a b"' },
      { path: 'egress.qos_type', message: 'expected one of linux-htb, linux-hfsc, got "linux-cake"' },
      { path: 'egress.max_rate', message: 'expected max_rate: a whole number of bit/s 1..10000000000000, got 0' },
      { path: 'egress.police', message: 'expected true or false, got 1' },
    ]);
  });

  it('refuses a guaranteed rate above the port ceiling', () => {
    expect(issuesOf(config('{ min_rate: 2000 }', '', 'egress: { port: eth1, max_rate: 1000 }'))).toEqual([
      { path: 'services[0].backends[0].queue.min_rate', message: 'expected at most egress.max_rate (1000 bit/s), got 2000' },
    ]);
  });

  it('refuses two different queues for one vNIC (it has one transmit queue)', () => {
    const text = `egress: { port: eth1 }
services:
  - { name: a, vip: 10.0.0.100, port: 80, backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [80], queue: { max_rate: 1000 } }] }
  - { name: b, vip: 10.0.0.101, port: 80, backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [80], queue: { max_rate: 2000 } }] }
  - { name: c, vip: 10.0.0.102, port: 80, backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [80], queue: { max_rate: 1000 } }] }
`;
    expect(issuesOf(text)).toEqual([
      { path: 'services[1].backends[0].queue', message: 'vNIC v-vm1 already has another queue at services[0].backends[0].queue: one queue per vNIC' },
    ]);
  });

  it('gives a tier\'s backends the tier\'s queue unless they have their own; errors point at tier_queues', () => {
    const text = (egress: string, extra = '') => `${egress}
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    tier_queues: { "1": { max_rate: 20000000 }${extra} }
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [80] }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [80], tier: 1 }
      - { vnic: v-vm3, ip: 10.0.0.13, ports: [80], tier: 1, queue: { max_rate: 5000000 } }
`;
    const c = parseConfig(text('egress: { port: eth1 }'));
    expect(c.services[0].backends.map((b) => b.queue)).toEqual([undefined, { max_rate: 20_000_000 }, { max_rate: 5_000_000 }]);
    expect(issuesOf(text(''))).toEqual([
      { path: 'services[0].tier_queues.1', message: 'needs the egress section: egress.port names the uplink port the queue lives on' },
      { path: 'services[0].backends[2].queue', message: 'needs the egress section: egress.port names the uplink port the queue lives on' },
    ]);
    expect(issuesOf(text('egress: { port: eth1 }', ', "16": { max_rate: 1 }'))).toEqual([
      { path: 'services[0].tier_queues.16', message: 'expected a tier number 0..15, got "16"' },
    ]);
  });
});
