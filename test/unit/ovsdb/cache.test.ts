import {
  CacheEvent,
  MonitorReplica,
  OvsdbProtocolError,
  VnicEvent,
  VnicResolver,
  VnicSpecError,
  VswitchCache,
  classifyVnicChange,
  parseSchema,
  parseVnicSpec,
} from '../../../src/ovsdb';
// The column types of vswitch.ovsschema that these tests touch, so unit tests need no OVS install.
const strMap = { key: 'string', value: 'string', min: 0, max: 'unlimited' };
const optional = (key: string) => ({ type: { key, min: 0, max: 1 } });
const uuidSet = (min: number) => ({ type: { key: { type: 'uuid' }, min, max: 'unlimited' } });
const schema = parseSchema({
  name: 'Open_vSwitch',
  version: '8.3.1',
  tables: {
    Bridge: { columns: { name: { type: 'string' }, ports: uuidSet(0), external_ids: { type: strMap } } },
    Port: { columns: { name: { type: 'string' }, interfaces: uuidSet(1), qos: { type: { key: 'uuid', min: 0, max: 1 } } } },
    Interface: {
      columns: {
        name: { type: 'string' },
        type: { type: 'string' },
        ofport: optional('integer'),
        mac_in_use: optional('string'),
        link_state: optional('string'),
        admin_state: optional('string'),
        external_ids: { type: strMap },
        statistics: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
      },
    },
  },
});
const BR = '11111111-1111-4111-8111-111111111111';
const PORT = '22222222-2222-4222-8222-222222222222';
const IFACE = '33333333-3333-4333-8333-333333333333';
const BR2 = '44444444-4444-4444-8444-444444444444';

const bridgeRow = (name: string, ports: string[]) => ({ name, ports: ['set', ports.map((p) => ['uuid', p])] });
const ifaceRow = (extra: Record<string, unknown> = {}) => ({
  name: 'vm1',
  type: '',
  ofport: 5,
  mac_in_use: '02:00:00:00:00:01',
  external_ids: ['map', [['iface-id', 'vm-1'], ['attached-mac', '02:00:00:00:00:01'], ['vm-uuid', 'os-vm-1'], ['vm-id', 'lv-vm-1']]],
  statistics: ['map', [['rx_packets', 10]]],
  link_state: 'up',
  admin_state: 'up',
  ...extra,
});

function world(): { replica: MonitorReplica; cache: VswitchCache; events: CacheEvent[] } {
  const replica = new MonitorReplica(schema, ['Bridge', 'Port', 'Interface']);
  const cache = new VswitchCache();
  const events: CacheEvent[] = [];
  for (const kind of ['add', 'update', 'delete'] as const) cache.on(kind, (e) => events.push(e));
  cache.applyChanges(
    replica.reset(
      {
        Bridge: { [BR]: { initial: bridgeRow('br0', [PORT]) } },
        Port: { [PORT]: { initial: { name: 'vm1', interfaces: ['uuid', IFACE] } } },
        Interface: { [IFACE]: { initial: ifaceRow() } },
      },
      'update2',
    ),
  );
  return { replica, cache, events };
}

describe('MonitorReplica + VswitchCache', () => {
  test('initial rows arrive typed, as add events', () => {
    const { cache, events } = world();
    expect(events.map((e) => `${e.table}:${e.old ? 'old' : ''}${e.new ? 'new' : ''}`).sort()).toEqual([
      'Bridge:new',
      'Interface:new',
      'Port:new',
    ]);
    expect(cache.get('Interface', IFACE)).toEqual({
      uuid: IFACE,
      name: 'vm1',
      type: '',
      ofport: 5,
      macInUse: '02:00:00:00:00:01',
      mac: undefined,
      externalIds: { 'iface-id': 'vm-1', 'attached-mac': '02:00:00:00:00:01', 'vm-uuid': 'os-vm-1', 'vm-id': 'lv-vm-1' },
      statistics: { rx_packets: 10 },
      linkState: 'up',
      adminState: 'up',
      options: {},
    });
    expect(cache.get('Port', PORT)?.interfaces).toEqual([IFACE]);
    expect(cache.bridgeOfPort(PORT)?.name).toBe('br0');
    expect(cache.portOfInterface(IFACE)?.name).toBe('vm1');
  });

  test('update2 modify applies column differences and emits update with old and new', () => {
    const { replica, cache, events } = world();
    events.length = 0;
    cache.applyChanges(
      replica.applyUpdate2({
        Interface: { [IFACE]: { modify: { link_state: 'down', statistics: ['map', [['rx_packets', 12], ['tx_packets', 1]]] } } },
      }),
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ table: 'Interface', old: { linkState: 'up' }, new: { linkState: 'down' } });
    expect(cache.get('Interface', IFACE)?.statistics).toEqual({ rx_packets: 12, tx_packets: 1 });
  });

  test('plain monitor updates carry whole rows; delete removes', () => {
    const replica = new MonitorReplica(schema, ['Bridge']);
    const cache = new VswitchCache();
    cache.applyChanges(replica.reset({ Bridge: { [BR]: { new: bridgeRow('br0', []) } } }, 'update'));
    const deleted: CacheEvent[] = [];
    cache.on('delete', (e) => deleted.push(e));
    cache.applyChanges(replica.applyUpdate({ Bridge: { [BR]: { old: bridgeRow('br0', []) } } }));
    expect(deleted).toMatchObject([{ table: 'Bridge', uuid: BR, old: { name: 'br0' } }]);
    expect(cache.rows('Bridge').size).toBe(0);
  });

  test('a reset after reconnect converges: stale rows replaced, vanished rows deleted, new rows added', () => {
    const { replica, cache, events } = world();
    events.length = 0;
    cache.applyChanges(
      replica.reset(
        {
          Bridge: { [BR2]: { initial: bridgeRow('br1', []) }, [BR]: { initial: bridgeRow('br0', []) } },
          Port: {},
          Interface: {},
        },
        'update2',
      ),
    );
    const summary = events.map((e) => `${e.table}:${e.old ? 'old' : '-'}/${e.new ? 'new' : '-'}`).sort();
    expect(summary).toEqual(['Bridge:-/new', 'Bridge:old/new', 'Interface:old/-', 'Port:old/-']);
    expect(cache.get('Bridge', BR)?.ports).toEqual([]);
    expect(cache.rows('Interface').size).toBe(0);
  });

  test('wrong shapes from the server are typed errors and change nothing', () => {
    const { replica, cache } = world();
    expect(() => replica.applyUpdate2({ Interface: { [IFACE]: { frobnicate: {} } } })).toThrow(OvsdbProtocolError);
    expect(() => replica.applyUpdate2({ Interface: { [BR2]: { modify: { name: 'x' } } } })).toThrow('unknown row');
    expect(() => replica.applyUpdate2('nope')).toThrow('not an object');
    expect(() =>
      cache.applyChanges([{ table: 'Interface', uuid: IFACE, new: { name: 'vm1', ofport: 'five' } }]),
    ).toThrow('Interface/' + IFACE + '.ofport');
    expect(cache.get('Interface', IFACE)?.ofport).toBe(5);
  });
});

describe('VnicResolver', () => {
  test('parses specs and rejects malformed ones', () => {
    expect(parseVnicSpec('vm1')).toEqual({ by: 'name', name: 'vm1' });
    expect(parseVnicSpec('iface-id:vm-1')).toEqual({ by: 'iface-id', ifaceId: 'vm-1' });
    expect(parseVnicSpec('mac:02:00:00:00:00:AA')).toEqual({ by: 'mac', mac: '02:00:00:00:00:aa' });
    expect(() => parseVnicSpec('mac:zz')).toThrow(VnicSpecError);
    expect(() => parseVnicSpec('iface-id:')).toThrow('needs an id');
    expect(() => parseVnicSpec('')).toThrow(VnicSpecError);
    expect(() => parseVnicSpec('what:ever')).toThrow('expected an interface NAME');
    expect(parseVnicSpec('vm-uuid:0b5c')).toEqual({ by: 'vm-uuid', vmId: '0b5c' });
    expect(parseVnicSpec('vm-id:0b5c')).toEqual({ by: 'vm-id', vmId: '0b5c' });
    expect(() => parseVnicSpec('vm-uuid:')).toThrow('vm-uuid: needs an id');
  });

  test('resolves by the VM that owns the interface: vm-uuid (os-vif) and vm-id (libvirt)', () => {
    const { cache } = world();
    const resolver = new VnicResolver(cache);
    expect(resolver.resolve('vm-uuid:os-vm-1')).toMatchObject({ name: 'vm1', ofport: 5 });
    expect(resolver.resolve('vm-id:lv-vm-1')).toMatchObject({ name: 'vm1', ofport: 5 });
    // The keys are not interchangeable: libvirt's id is not os-vif's.
    expect(resolver.resolve('vm-uuid:lv-vm-1')).toBeUndefined();
    expect(resolver.resolve('vm-id:os-vm-1')).toBeUndefined();
  });

  test('resolves by name, iface-id, attached-mac and mac_in_use', () => {
    const { cache } = world();
    const resolver = new VnicResolver(cache);
    const expected = { name: 'vm1', bridge: 'br0', port: 'vm1', ofport: 5, mac: '02:00:00:00:00:01', linkState: 'up' };
    for (const spec of ['vm1', 'iface-id:vm-1', 'mac:02:00:00:00:00:01']) expect(resolver.resolve(spec)).toMatchObject(expected);
    expect(resolver.resolve('vm2')).toBeUndefined();
  });

  test('emits change, move and disappear for a watched vNIC', () => {
    const { replica, cache } = world();
    const resolver = new VnicResolver(cache);
    const seen: VnicEvent[] = [];
    for (const kind of ['appear', 'change', 'move', 'disappear'] as const) resolver.on(kind, (e) => seen.push(e));
    resolver.watch('iface-id:vm-1');
    cache.applyChanges(replica.applyUpdate2({ Interface: { [IFACE]: { modify: { ofport: 7 } } } }));
    cache.applyChanges(
      replica.applyUpdate2({
        Bridge: { [BR]: { modify: { ports: ['uuid', PORT] } }, [BR2]: { insert: bridgeRow('br1', [PORT]) } },
      }),
    );
    cache.applyChanges(replica.applyUpdate2({ Interface: { [IFACE]: { delete: null } } }));
    expect(seen.map((e) => [e.kind, e.changed])).toEqual([
      ['change', ['ofport']],
      ['move', ['bridge']],
      ['disappear', []],
    ]);
    expect(seen[1].new?.bridge).toBe('br1');
    resolver.dispose();
  });

  test('classifyVnicChange is quiet when nothing relevant changed', () => {
    const info = { name: 'a', interfaceUuid: IFACE, statistics: {}, externalIds: {} };
    expect(classifyVnicChange(undefined, undefined)).toBeUndefined();
    expect(classifyVnicChange(info, { ...info })).toBeUndefined();
    expect(classifyVnicChange(undefined, info)?.kind).toBe('appear');
    expect(classifyVnicChange(info, { ...info, statistics: { rx_packets: 1 } })).toEqual({ kind: 'change', changed: ['statistics'] });
  });
});
