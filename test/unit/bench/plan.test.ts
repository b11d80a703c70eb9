import { FlowSetupOptionError } from '../../../src/bench/errors';
import {
  DEFAULT_OPTIONS, benchConfig, parseControllerOption, parseList, planSwitches, validateOptions, withDefaults, type FlowSetupOptions,
} from '../../../src/bench/plan';
import { parseConfig } from '../../../src/config';
import { stringify } from 'yaml';

const opts = (over: Partial<FlowSetupOptions>): FlowSetupOptions => ({ ...DEFAULT_OPTIONS, ...over });

function optionError(over: Partial<FlowSetupOptions>): FlowSetupOptionError {
  try {
    validateOptions(opts(over));
  } catch (err) {
    if (err instanceof FlowSetupOptionError) return err;
    throw err;
  }
  throw new Error('expected a FlowSetupOptionError');
}

describe('flow-setup options', () => {
  it('accepts the defaults', () => {
    expect(() => validateOptions(DEFAULT_OPTIONS)).not.toThrow();
  });

  it.each([
    [{ switches: 0 }, 'switches', /1\.\.4096, got 0/],
    [{ loops: 1 }, 'loops', /2\.\.100000/],
    [{ connections: 0 }, 'connections', /1\.\.10000000, got 0/],
    [{ window: 1.5 }, 'window', /integer/],
    [{ vip: '10.0.0' }, 'vip', /not an IPv4 address/],
    [{ backendPorts: [] }, 'backend-ports', /at least one/],
    [{ clientPortName: 'eth0' }, 'client-port', /not one of the port names/],
    [{ portNames: ['a-very-long-port-name-{n}', 'v-cl1-{n}'], clientPortName: 'v-cl1-{n}' }, 'port-names', /longer than 15/],
    [{ portNames: ['v-vm1', 'v-cl1'], clientPortName: 'v-cl1', switches: 2 }, 'port-names', /\{n\}/],
    [{ vip: '255.255.255.1', switches: 4 }, 'vip-stride', /past 255/],
    [{ clientsFrom: 'fd00::1' }, 'clients-from', /not an IPv4 address/],
    [{ clientsFrom: '255.255.255.0', clients: 257 }, 'clients-from', /257 clients from 255\.255\.255\.0 run past/],
    [{ family: 'ipv6' }, 'vip', /not an IPv6 address/],
    [{ family: 'ipv6', vip: 'fd00::1', app: 'raw' }, 'app', /vadc's app only/],
    [{ family: 'ipv6', vip: 'ffff:ffff:ffff:ffff::1', vipStride: 1, switches: 2 }, 'vip-stride', /last \/64/],
    [{ controllers: 0 }, 'controllers', /1\.\.64, got 0/],
    [{ controllers: 3, switches: 2 }, 'controllers', /at least as many switches \(got 2\)/],
    [{ controllers: 2, controller: { kind: 'tcp', host: '127.0.0.1', port: 6653 } }, 'controllers', /--controller internal/],
  ] as const)('refuses %j naming --%s', (over, option, message) => {
    const err = optionError(over as Partial<FlowSetupOptions>);
    expect(err.option).toBe(option);
    expect(err.message).toMatch(message);
  });

  it('parses --controller and lists', () => {
    expect(parseControllerOption('internal')).toEqual({ kind: 'internal' });
    expect(parseControllerOption('tcp:127.0.0.1:6653')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6653 });
    expect(parseControllerOption('tcp:[::1]:6633')).toEqual({ kind: 'tcp', host: '::1', port: 6633 });
    expect(() => parseControllerOption('ssl:127.0.0.1:6653')).toThrow(FlowSetupOptionError);
    expect(() => parseControllerOption('tcp:127.0.0.1:0')).toThrow(/tcp:HOST:PORT/);
    expect(parseList(' a, b,,c ')).toEqual(['a', 'b', 'c']);
  });
});

describe('switch plans and the bench config', () => {
  const o = opts({ switches: 3 });
  const plans = planSwitches(o);

  it('gives each switch its own dpid, port names, VIP and backends', () => {
    expect(new Set(plans.map((p) => p.dpid)).size).toBe(3);
    expect(plans[2].portNames).toEqual(['v-vm1-2', 'v-vm2-2', 'v-cl1-2']);
    expect(plans[2].clientPortName).toBe('v-cl1-2');
    expect(plans.map((p) => p.vip)).toEqual(['10.0.0.100', '10.0.1.100', '10.0.2.100']);
    expect(plans[1].vipMac).toBe('02:00:0a:00:01:64');
    expect(plans[1].backends).toEqual([{ portName: 'v-vm1-1', ip: '10.0.1.11' }, { portName: 'v-vm2-1', ip: '10.0.1.12' }]);
  });

  it('produces a configuration vadc itself accepts, one service per switch', () => {
    const config = parseConfig(stringify(benchConfig(o, plans)));
    expect(config.services.map((s) => [s.name, s.vip, s.port])).toEqual([
      ['bench0', '10.0.0.100', 80], ['bench1', '10.0.1.100', 80], ['bench2', '10.0.2.100', 80],
    ]);
    expect(config.services[2].backends.map((b) => b.vnic)).toEqual(['v-vm1-2', 'v-vm2-2']);
  });
});

describe('IPv6 switch plans', () => {
  const o = withDefaults({ family: 'ipv6', switches: 3, vip: undefined });
  const plans = planSwitches(o);

  it('takes the IPv6 defaults: a /64 per switch, backends ::11 and ::12 of it', () => {
    expect(() => validateOptions(o)).not.toThrow();
    expect(plans.map((p) => p.vip)).toEqual(['fd00:10::100', 'fd00:10:0:1::100', 'fd00:10:0:2::100']);
    expect(plans[2].backends).toEqual([{ portName: 'v-vm1-2', ip: 'fd00:10:0:2::11' }, { portName: 'v-vm2-2', ip: 'fd00:10:0:2::12' }]);
  });

  it('produces an IPv6 configuration vadc itself accepts', () => {
    const config = parseConfig(stringify(benchConfig(o, plans)));
    expect(config.services.map((s) => s.vip)).toEqual(['fd00:10::100', 'fd00:10:0:1::100', 'fd00:10:0:2::100']);
    expect(config.services[1].backends.map((b) => b.ip)).toEqual(['fd00:10:0:1::11', 'fd00:10:0:1::12']);
  });
});
