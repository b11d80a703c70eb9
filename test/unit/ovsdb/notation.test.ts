import {
  NamedUuid,
  OvsdbNotationError,
  Uuid,
  applyColumnDiff,
  condition,
  decodeCondition,
  decodeMutation,
  decodeRow,
  decodeValue,
  encodeCondition,
  encodeMutation,
  encodeRow,
  encodeValue,
  mutation,
  normalizeValue,
  parseColumnType,
  parseSchema,
  valuesEqual,
} from '../../../src/ovsdb';

const U1 = '36bb2bf8-4c5b-4c0b-9d8a-1f2e3d4c5b6a';
const U2 = '0f2a7c1e-9b7d-4e11-a1b2-c3d4e5f60718';

describe('RFC 7047 notation', () => {
  const wireValues: unknown[] = [
    'eth0',
    -42,
    2.5,
    true,
    ['uuid', U1],
    ['named-uuid', 'row_1'],
    ['set', []],
    ['set', [1, 2, 3]],
    ['set', [['uuid', U1], ['uuid', U2]]],
    ['map', []],
    ['map', [['iface-id', 'vm-1'], ['attached-mac', '02:00:00:00:00:01']]],
    ['map', [[7, ['uuid', U2]]]],
  ];

  test.each(wireValues.map((v) => [JSON.stringify(v), v]))('%s round-trips', (_, wire) => {
    expect(encodeValue(decodeValue(wire))).toEqual(wire);
  });

  test('decodes to the documented TS shapes', () => {
    expect(decodeValue(['uuid', U1.toUpperCase()])).toEqual(new Uuid(U1));
    expect(decodeValue(['named-uuid', 'x'])).toEqual(new NamedUuid('x'));
    expect(decodeValue(['set', ['a', 'b']])).toEqual(['a', 'b']);
    expect(decodeValue(['map', [['k', 1]]])).toEqual(new Map([['k', 1]]));
  });

  test.each([
    [null, 'expected an atom'],
    [{}, 'expected an atom'],
    [['uuid', 'not-a-uuid'], 'is not a UUID'],
    [['named-uuid', '1bad'], 'not a valid uuid-name'],
    [['set', 'x'], '"set" needs an array'],
    [['set', [['set', []]]], 'expected an atom'],
    [['map', [['k']]], 'not a [key, value] pair'],
    [['map', {}], '"map" needs an array'],
    [['tuple', []], 'expected an atom'],
  ])('rejects %j with a typed error', (wire, message) => {
    expect(() => decodeValue(wire, 'v')).toThrow(OvsdbNotationError);
    expect(() => decodeValue(wire, 'v')).toThrow(message);
  });

  test('row errors name the column', () => {
    expect(() => decodeRow({ name: 'x', ofport: ['set', [{}]] })).toThrow('row.ofport[0]');
    expect(() => decodeRow([1])).toThrow('expected a row object');
  });

  test('rows, conditions and mutations round-trip', () => {
    const row = { name: 'br0', ports: [new Uuid(U1)], external_ids: new Map([['a', 'b']]) };
    expect(decodeRow(encodeRow(row))).toEqual(row);
    const c = condition('_uuid', '==', new Uuid(U1));
    expect(encodeCondition(c)).toEqual(['_uuid', '==', ['uuid', U1]]);
    expect(decodeCondition(encodeCondition(c))).toEqual(c);
    const m = mutation('external_ids', 'insert', new Map([['k', 'v']]));
    expect(decodeMutation(encodeMutation(m))).toEqual(m);
    expect(() => decodeCondition(['a', '~=', 1])).toThrow(OvsdbNotationError);
    expect(() => decodeMutation(['a', 'append', 1])).toThrow(OvsdbNotationError);
  });

  test('valuesEqual ignores set and map order and treats a bare atom as a one-element set', () => {
    expect(valuesEqual([1, 2], [2, 1])).toBe(true);
    expect(valuesEqual(5, [5])).toBe(true);
    expect(valuesEqual(new Map([['a', '1'], ['b', '2']]), new Map([['b', '2'], ['a', '1']]))).toBe(true);
    expect(valuesEqual(new Map([['a', '1']]), new Map([['a', '2']]))).toBe(false);
    expect(valuesEqual([new Uuid(U1)], [new Uuid(U2)])).toBe(false);
  });
});

describe('schema column kinds and update2 diffs', () => {
  const scalar = parseColumnType('string');
  const optionalInt = parseColumnType({ key: 'integer', min: 0, max: 1 });
  const uuidSet = parseColumnType({ key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' });
  const strMap = parseColumnType({ key: 'string', value: 'string', min: 0, max: 'unlimited' });

  test('parses types', () => {
    expect(scalar).toEqual({ key: 'string', min: 1, max: 1 });
    expect(uuidSet).toEqual({ key: 'uuid', min: 0, max: 'unlimited' });
    expect(strMap.value).toBe('string');
    expect(() => parseColumnType({ key: 'float' })).toThrow('unknown atomic type');
    expect(() => parseSchema({ name: 'x' })).toThrow('expected a schema');
  });

  test('normalizes a bare atom in a set column to a one-element array', () => {
    expect(normalizeValue(7, optionalInt)).toEqual([7]);
    expect(normalizeValue('x', scalar)).toBe('x');
    expect(normalizeValue([], strMap)).toEqual(new Map());
  });

  test('scalar and optional diffs are the new value; set diff toggles; map diff adds, removes and changes', () => {
    expect(applyColumnDiff('old', 'new', scalar)).toBe('new');
    expect(applyColumnDiff([], 5, optionalInt)).toEqual([5]);
    // ovsdb-server sends an optional column's new value (as captured: link_state "down" -> "up"), not a toggle.
    expect(applyColumnDiff([5], 6, optionalInt)).toEqual([6]);
    expect(applyColumnDiff([5], [], optionalInt)).toEqual([]);
    expect(applyColumnDiff([new Uuid(U1)], [new Uuid(U1)], uuidSet)).toEqual([]);
    const old = new Map([['keep', '1'], ['drop', '2'], ['change', '3']]);
    const diff = new Map([['drop', '2'], ['change', '30'], ['add', '4']]);
    expect(applyColumnDiff(old, diff, strMap)).toEqual(new Map([['keep', '1'], ['change', '30'], ['add', '4']]));
  });
});
