import {
  addBridgeArgs, addPortArgs, hostSetupCommands, labPaths, ofctlArgv, ovsdbServerArgv, ovsEnv, ovsInstall, vsctlArgv, vswitchdArgv,
} from '../../../src/lab/commands';
import { LabError } from '../../../src/lab/errors';
import { planHost, planLab } from '../../../src/lab/plan';
import { missingFromInstall, missingPackages } from '../../../src/lab/install';
import { parseLockOwner } from '../../../src/lab/host-lock';

describe('lab command building', () => {
  const lab = planLab();
  const vm1 = planHost(lab, 'vm', 'vm1', 11);
  const paths = labPaths('/tmp/vadc-lab-vadc');

  it('points every OVS directory at the lab directory', () => {
    const env = ovsEnv('/d', { PATH: '/bin' });
    expect(env).toEqual({ PATH: '/bin', OVS_RUNDIR: '/d', OVS_LOGDIR: '/d', OVS_DBDIR: '/d', OVS_SYSCONFDIR: '/d' });
  });

  it('takes the system\'s OVS unless VADC_OVS_PREFIX names another install', () => {
    expect(ovsInstall({ PATH: '/bin' })).toEqual({ binDirs: [], schema: '/usr/share/openvswitch/vswitch.ovsschema' });
    expect(ovsInstall({ VADC_OVS_PREFIX: ' ' })).toEqual({ binDirs: [], schema: '/usr/share/openvswitch/vswitch.ovsschema' });
    expect(ovsInstall({ VADC_OVS_PREFIX: '/opt/ovs-3.3/' })).toEqual({
      prefix: '/opt/ovs-3.3', binDirs: ['/opt/ovs-3.3/bin', '/opt/ovs-3.3/sbin'], schema: '/opt/ovs-3.3/share/openvswitch/vswitch.ovsschema',
    });
    expect(() => ovsInstall({ VADC_OVS_PREFIX: 'opt/ovs' })).toThrow(LabError);
    expect(() => ovsInstall({ VADC_OVS_PREFIX: 'opt/ovs' })).toThrow(/VADC_OVS_PREFIX: expected an absolute path .*"opt\/ovs"/);
  });

  it('puts the named install\'s bin and sbin first on the OVS tools\' PATH', () => {
    const env = ovsEnv('/d', { PATH: '/usr/bin:/usr/sbin', VADC_OVS_PREFIX: '/opt/ovs-3.3' });
    expect(env).toEqual({
      PATH: '/opt/ovs-3.3/bin:/opt/ovs-3.3/sbin:/usr/bin:/usr/sbin', VADC_OVS_PREFIX: '/opt/ovs-3.3',
      OVS_RUNDIR: '/d', OVS_LOGDIR: '/d', OVS_DBDIR: '/d', OVS_SYSCONFDIR: '/d',
    });
    expect(ovsEnv('/d', { VADC_OVS_PREFIX: '/opt/o' }).PATH).toBe('/opt/o/bin:/opt/o/sbin');
    // The env it makes names the same install again (the lab reads its schema from it).
    expect(ovsInstall(env).schema).toBe('/opt/ovs-3.3/share/openvswitch/vswitch.ovsschema');
  });

  it('says which of the lab\'s OVS tools and the schema a named install lacks', () => {
    const install = ovsInstall({ VADC_OVS_PREFIX: '/opt/o' });
    const complete = new Set(['/opt/o/sbin/ovs-vswitchd', '/opt/o/sbin/ovsdb-server', '/opt/o/bin/ovsdb-tool', '/opt/o/bin/ovs-vsctl',
      '/opt/o/bin/ovs-ofctl', '/opt/o/bin/ovs-appctl', '/opt/o/share/openvswitch/vswitch.ovsschema']);
    expect(missingFromInstall(install, (f) => complete.has(f))).toEqual([]);
    // A tool found in either directory counts.
    const appctlInSbin = new Set([...complete].map((f) => f.replace('/bin/ovs-appctl', '/sbin/ovs-appctl')));
    expect(missingFromInstall(install, (f) => appctlInSbin.has(f))).toEqual([]);
    const partial = new Set([...complete].filter((f) => !f.endsWith('ovs-ofctl') && !f.endsWith('.ovsschema')));
    expect(missingFromInstall(install, (f) => partial.has(f))).toEqual(['ovs-ofctl', '/opt/o/share/openvswitch/vswitch.ovsschema']);
    // The system's install is apt-get's business (missingPackages), not this check's.
    expect(missingFromInstall(ovsInstall({}), () => false)).toEqual([]);
  });

  it('runs both daemons detached with pidfiles and sockets in the lab directory', () => {
    expect(ovsdbServerArgv(paths)).toEqual([
      'ovsdb-server', '/tmp/vadc-lab-vadc/conf.db', '--remote=punix:/tmp/vadc-lab-vadc/db.sock',
      '--pidfile=/tmp/vadc-lab-vadc/ovsdb-server.pid', '--log-file=/tmp/vadc-lab-vadc/ovsdb-server.log',
      '--unixctl=/tmp/vadc-lab-vadc/ovsdb-server.ctl', '--detach',
    ]);
    expect(vswitchdArgv(paths)).toEqual([
      'ovs-vswitchd', 'unix:/tmp/vadc-lab-vadc/db.sock', '--pidfile=/tmp/vadc-lab-vadc/ovs-vswitchd.pid',
      '--log-file=/tmp/vadc-lab-vadc/ovs-vswitchd.log', '--unixctl=/tmp/vadc-lab-vadc/ovs-vswitchd.ctl', '--detach',
    ]);
  });

  it('makes a secure OpenFlow 1.3 netdev bridge with a fixed datapath id, with or without a controller', () => {
    const withController = addBridgeArgs(lab, 'tcp:127.0.0.1:6653');
    expect(withController).toEqual([
      '--may-exist', 'add-br', 'br-vadc', '--', 'set', 'bridge', 'br-vadc', 'datapath_type=netdev',
      'protocols=OpenFlow13', 'fail_mode=secure', 'other_config:datapath-id=000000000a000001',
      '--', 'set-controller', 'br-vadc', 'tcp:127.0.0.1:6653',
    ]);
    expect(addBridgeArgs(lab)).toEqual(withController.slice(0, -4));
  });

  it('tags ports with hypervisor external_ids, quoting the MAC', () => {
    expect(addPortArgs('br-vadc', vm1)).toEqual([
      '--may-exist', 'add-port', 'br-vadc', 'v-vm1', '--', 'set', 'interface', 'v-vm1',
      `external_ids:iface-id=${vm1.ifaceId}`, 'external_ids:attached-mac="02:0a:00:00:00:0b"',
      `external_ids:vm-uuid=${vm1.vmUuid}`, 'external_ids:iface-status=active',
    ]);
  });

  it('adds extra external_ids (a tag) in the same transaction, values quoted, keys checked', () => {
    expect(addPortArgs('br-vadc', vm1, { 'vadc-service': 'web', ip: '10.0.0.11', note: 'a "b":c' }).slice(-3)).toEqual([
      'external_ids:vadc-service="web"', 'external_ids:ip="10.0.0.11"', 'external_ids:note="a \\"b\\":c"',
    ]);
    expect(() => addPortArgs('br-vadc', vm1, { 'a=b': 'x' })).toThrow('external_ids key "a=b": expected 1..64 of A-Z a-z 0-9 _ . -');
  });

  it('wires a namespace by veth with offload off on both ends', () => {
    const cmds = hostSetupCommands(vm1, 24);
    expect(cmds[0]).toEqual(['ip', 'netns', 'add', 'vadc-vm1']);
    expect(cmds).toContainEqual(['ip', 'link', 'add', 'v-vm1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'vadc-vm1']);
    expect(cmds).toContainEqual(['ip', '-n', 'vadc-vm1', 'addr', 'add', '10.0.0.11/24', 'dev', 'eth0']);
    // Its IPv6 address too, usable at once (no duplicate address detection holding it tentative).
    expect(cmds).toContainEqual(['ip', '-n', 'vadc-vm1', 'addr', 'add', 'fd00:0:a00::b/64', 'dev', 'eth0', 'nodad']);
    expect(cmds).toContainEqual(['ip', '-n', 'vadc-vm1', 'link', 'set', 'eth0', 'address', '02:0a:00:00:00:0b']);
    expect(cmds).toContainEqual(['ip', '-n', 'vadc-vm1', 'link', 'set', 'lo', 'up']);
    expect(cmds).toContainEqual(['ethtool', '-K', 'v-vm1', 'tx', 'off']);
    expect(cmds).toContainEqual(['ip', 'netns', 'exec', 'vadc-vm1', 'ethtool', '-K', 'eth0', 'tx', 'off']);
  });

  it('puts the management socket after the ofctl subcommand, options first', () => {
    expect(ofctlArgv('/d/br.mgmt', ['add-flow', 'priority=0,actions=NORMAL'])).toEqual([
      'ovs-ofctl', '-O', 'OpenFlow13', 'add-flow', 'unix:/d/br.mgmt', 'priority=0,actions=NORMAL',
    ]);
    expect(ofctlArgv('/d/br.mgmt', ['--no-stats', 'dump-flows'])).toEqual([
      'ovs-ofctl', '-O', 'OpenFlow13', '--no-stats', 'dump-flows', 'unix:/d/br.mgmt',
    ]);
    expect(vsctlArgv('/d/db.sock', ['show'])).toEqual(['ovs-vsctl', '--db=unix:/d/db.sock', '--timeout=20', 'show']);
  });

  it('names the Debian packages for missing tools once each', () => {
    expect(missingPackages(new Set(['ip', 'ethtool']))).toEqual(['openvswitch-switch']);
    expect(missingPackages(new Set(['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ip']))).toEqual(['ethtool']);
    expect(missingPackages(new Set(['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ip', 'ethtool']))).toEqual([]);
  });

  it('reads the host lock owner, treating junk as no owner', () => {
    expect(parseLockOwner('{"name":"a","dir":"/d","pid":5}')).toEqual({ name: 'a', dir: '/d', pid: 5 });
    expect(parseLockOwner('{"name":"a"}')).toBeUndefined();
    expect(parseLockOwner('junk')).toBeUndefined();
  });
});
