import { DaemonUnreachableError } from '../../../src/api/errors';
import { BackendArgError, parseBackendArg } from '../../../src/api/backend-arg';
import { backendStats, humanNumber } from '../../../src/api/stats';
import { formatAge, formatFlow, formatHealth, formatMinSec, formatPayloadRules } from '../../../src/api/text-views';
import { Backend, PORT_OUT_HEALTH, PORT_OUT_HEALTH_IPV4, PORT_OUT_HEALTH_IPV6, PORT_OUT_OUTLIER, setPortOut } from '../../../src/lb';
import { portsOutOf } from '../../../src/daemon/views';
import { sampleRuntime } from '../api/fake-runtime';

describe('--backend notation', () => {
  it('parses vnic, address, ports and options', () => {
    expect(parseBackendArg('v-vm1=10.0.0.11:8080')).toEqual({ vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080] });
    expect(parseBackendArg('iface-id:vm2-eth0=10.0.0.12:80,81/weight=3/tier=1')).toEqual({ vnic: 'iface-id:vm2-eth0', ip: '10.0.0.12', ports: [80, 81], weight: 3, tier: 1 });
    expect(parseBackendArg('v-vm1=[fd00::11]:8080,8081/weight=2')).toEqual({ vnic: 'v-vm1', ip: 'fd00::11', ports: [8080, 8081], weight: 2 });
  });

  it('names what is wrong', () => {
    expect(() => parseBackendArg('10.0.0.11:8080')).toThrow(/missing VNIC=/);
    expect(() => parseBackendArg('v=10.0.0.11')).toThrow(/missing IP:PORT/);
    expect(() => parseBackendArg('v=10.0.0.11:http')).toThrow(/port "http" is not a number/);
    expect(() => parseBackendArg('v=10.0.0.11:80/colour=red')).toThrow(BackendArgError);
    expect(() => parseBackendArg('v=fd00::11:8080')).toThrow(/write an IPv6 address in brackets: \[fd00::11\]:PORT/);
  });
});

describe('stats rows', () => {
  it('gives rates between two samples and none across a counter reset', async () => {
    const rt = await sampleRuntime();
    const first = rt.status();
    rt.patchBackend('web', 'v-vm1', { packets: 3200, bytes: 104000, totalConns: 14 });
    rt.patchBackend('web', 'v-vm2', { packets: 10 }); // went down: the backend was re-added
    const rows = backendStats(rt.status(), first, 2000);
    expect(rows[0]).toMatchObject({ backend: 'v-vm1', packetsPerSec: 1000, bytesPerSec: 4000, connsPerSec: 2 });
    expect(rows[1].packetsPerSec).toBeUndefined();
    expect(backendStats(first)[0].packetsPerSec).toBeUndefined();
  });

  it('prints compact numbers', () => {
    expect([humanNumber(999), humanNumber(1234), humanNumber(2_500_000), humanNumber(0.25), humanNumber(undefined)]).toEqual(['999', '1.2k', '2.5M', '0.3', undefined]);
  });
});

describe('text views', () => {
  it('formats ages like uptime and idle like ipvsadm', () => {
    expect([formatAge(59_000), formatAge(61_000), formatAge(3_600_000 * 5 + 60_000), formatAge(86_400_000 * 2 + 3_600_000)]).toEqual(['59s', '1m01s', '5h01m', '2d01h']);
    expect(formatMinSec(125_000)).toBe('02:05');
  });

  it('prints a flow like ovs-ofctl dump-flows, with idle_timeout only when set', () => {
    const flow = { dpid: '1', tableId: 1, priority: 200, cookie: '0xa', match: 'tcp,nw_src=10.0.0.50,tp_src=41000', actions: 'set_field:10.0.0.11->ip_dst,output:3', packets: 9, bytes: 900, durationSec: 12, idleTimeout: 30 };
    expect(formatFlow(flow)).toBe(' cookie=0xa, duration=12s, table=1, n_packets=9, n_bytes=900, idle_timeout=30, priority=200,tcp,nw_src=10.0.0.50,tp_src=41000 actions=set_field:10.0.0.11->ip_dst,output:3');
    expect(formatFlow({ ...flow, match: '', idleTimeout: 0 })).toBe(' cookie=0xa, duration=12s, table=1, n_packets=9, n_bytes=900, priority=200 actions=set_field:10.0.0.11->ip_dst,output:3');
  });
});

describe('ports out of rotation in status', () => {
  it('names the family of a dual-stack backend\'s port that fails one family\'s check only; a port out of both names none', () => {
    const b = new Backend({ id: 'v-vm2', ip: '10.0.0.12', ip6: 'fd00::12', ports: [8080, 8081, 8082, 8083] });
    expect(portsOutOf(b)).toEqual({});
    setPortOut(b, 0, PORT_OUT_HEALTH_IPV6, true);
    setPortOut(b, 1, PORT_OUT_HEALTH_IPV4, true);
    setPortOut(b, 2, PORT_OUT_HEALTH_IPV4, true);
    setPortOut(b, 2, PORT_OUT_HEALTH_IPV6, true);
    setPortOut(b, 3, PORT_OUT_OUTLIER, true);
    setPortOut(b, 3, PORT_OUT_HEALTH_IPV6, true);
    const { portsOut } = portsOutOf(b);
    expect(portsOut).toEqual([
      { port: 8080, why: 'check', family: 'IPv6' }, { port: 8081, why: 'check', family: 'IPv4' }, { port: 8082, why: 'check' }, { port: 8083, why: 'outlier' },
    ]);
    // The counts the schedulers read: ports out of each family's new connections.
    expect([b.portsOut, b.portsOut6]).toEqual([3, 3]);
    expect(formatHealth({ health: 'up', portsOut })).toBe('up [out: 8080 check IPv6, 8081 check IPv4, 8082 check, 8083 outlier]');
    setPortOut(b, 0, PORT_OUT_HEALTH_IPV6, false);
    setPortOut(b, 0, PORT_OUT_HEALTH, true);
    expect(portsOutOf(b).portsOut?.[0]).toEqual({ port: 8080, why: 'check' });
  });
});

describe('payload rules line', () => {
  it('says which rule sent how many new flows to which pool, the default pool\'s and the malformed ones', () => {
    expect(formatPayloadRules({ rules: [{ name: 'version-2', pool: 'v2', hits: 8 }], defaultPool: 'v1', defaultHits: 5, malformed: 2, malformedAction: 'refuse' }))
      .toBe('payload rules: version-2 -> v2 8, (default) -> v1 5; malformed 2 (refused)');
  });
});

describe('daemon-unreachable messages', () => {
  it('tells permission problems from a daemon that is not running', () => {
    expect(new DaemonUnreachableError('unix:/run/vadc/vadc.sock', 'EACCES').message).toBe(
      "permission denied on vadc daemon at unix:/run/vadc/vadc.sock (EACCES): run as root or as a member of the socket's group",
    );
    expect(new DaemonUnreachableError('unix:/run/vadc/vadc.sock', 'ECONNREFUSED').message).toBe(
      'vadc daemon not reachable at unix:/run/vadc/vadc.sock (ECONNREFUSED): is `vadc start` running?',
    );
  });
});
