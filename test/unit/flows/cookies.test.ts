import {
  allFlowsOfKind, allFlowsOfService, allVadcFlows, connectionIndex, connectionOfConnectionIndex, connectionsOfService, CookieError, endCopyService, makeCookie,
  maskPinsMagic, oneConnection, parseCookie, serviceOfConnectionIndex, serviceOfGuard, MAX_CONNECTION_ID, MAX_SERVICE_ID,
  buildVipFlows, sharedEndCopyCookie, SHARED_END_COPY, vipCookie, vipTag,
} from '../../../src/flows';
import { parsePrefix } from '../../../src/net/prefix';

const selects = (sel: { cookie: bigint; cookieMask: bigint }, cookie: bigint) => (cookie & sel.cookieMask) === sel.cookie;

describe('cookie scheme', () => {
  it('round-trips kind, service and connection, at the extremes too', () => {
    expect(parseCookie(makeCookie('connection', MAX_SERVICE_ID, MAX_CONNECTION_ID))).toEqual({ kind: 'connection', serviceId: MAX_SERVICE_ID, connectionId: MAX_CONNECTION_ID });
    expect(parseCookie(makeCookie('service', 1))).toEqual({ kind: 'service', serviceId: 1, connectionId: 0 });
    expect(parseCookie(makeCookie('pipeline'))).toEqual({ kind: 'pipeline', serviceId: 0, connectionId: 0 });
    expect(makeCookie('connection', 1, 2)).toBe(0xadc0_4_0001_0000002n);
  });

  it('does not claim foreign cookies', () => {
    expect(parseCookie(0n)).toBeNull();
    expect(parseCookie(0x1234_5678_9abc_def0n)).toBeNull();
    expect(parseCookie(0xadc0_f000_0000_0000n)).toBeNull(); // vadc magic, unknown kind
  });

  it('claims no cookie whose magic differs from 0xadc0 in any bit (foreign 0xadXX... flows stay foreign)', () => {
    const ours = makeCookie('connection', 1, 5);
    const body = ours & ((1n << 48n) - 1n); // a valid kind, service and connection below the magic
    for (let bit = 0n; bit < 16n; bit++) {
      const foreign = ours ^ (1n << (48n + bit));
      expect(parseCookie(foreign)).toBeNull();
      expect(selects(allVadcFlows(), foreign)).toBe(false);
    }
    for (let low = 0n; low < 256n; low++) {
      if (low === 0xc0n) continue;
      expect(parseCookie(((0xad00n | low) << 48n) | body)).toBeNull();
    }
  });

  it('rejects out-of-range ids and a service/connection cookie without a service', () => {
    expect(() => makeCookie('service', MAX_SERVICE_ID + 1)).toThrow(CookieError);
    expect(() => makeCookie('connection', 1, MAX_CONNECTION_ID + 1)).toThrow(CookieError);
    expect(() => makeCookie('connection', 1, -1)).toThrow(CookieError);
    expect(() => makeCookie('service', 0)).toThrow('a service cookie needs a service id >= 1');
  });

  it('selects all of a service (its service and connection flows) and nothing of another', () => {
    const s5 = allFlowsOfService(5);
    expect(selects(s5, makeCookie('service', 5))).toBe(true);
    expect(selects(s5, makeCookie('connection', 5, 99))).toBe(true);
    expect(selects(s5, makeCookie('connection', 6, 99))).toBe(false);
    expect(selects(s5, makeCookie('pipeline'))).toBe(false);
    expect(selects(s5, makeCookie('vip'))).toBe(false);
  });

  it('selects one connection exactly, all vadc flows, or one kind', () => {
    expect(selects(oneConnection(5, 9), makeCookie('connection', 5, 9))).toBe(true);
    expect(selects(oneConnection(5, 9), makeCookie('connection', 5, 10))).toBe(false);
    expect(selects(allVadcFlows(), makeCookie('vip'))).toBe(true);
    expect(selects(allVadcFlows(), 0x42n)).toBe(false);
    expect(selects(allFlowsOfKind('vip'), makeCookie('vip'))).toBe(true);
    expect(selects(allFlowsOfKind('vip'), makeCookie('service', 3))).toBe(false);
  });

  it('refuses ids out of range with the id and the range named, and service-scoped kinds without a service', () => {
    for (const bad of [-1, 1.5, MAX_SERVICE_ID + 1]) {
      expect(() => makeCookie('vip', bad)).toThrow(new CookieError(`service id ${bad} is outside 0..${MAX_SERVICE_ID}`));
    }
    expect(() => makeCookie('connection', 1, 2.5)).toThrow(new CookieError(`connection id 2.5 is outside 0..${MAX_CONNECTION_ID}`));
    expect(new CookieError('x').name).toBe('CookieError');
    for (const kind of ['service', 'connection', 'backend', 'end', 'decision'] as const) {
      expect(() => makeCookie(kind, 0)).toThrow(`a ${kind} cookie needs a service id >= 1`);
    }
    for (const kind of ['pipeline', 'vip', 'egress'] as const) expect(parseCookie(makeCookie(kind, 0))).toMatchObject({ kind, serviceId: 0 });
  });

  it('selects the connection flows of one service, not its service flow nor another service\'s connections', () => {
    const sel = connectionsOfService(7);
    expect(selects(sel, makeCookie('connection', 7, 1))).toBe(true);
    expect(selects(sel, makeCookie('connection', 7, MAX_CONNECTION_ID))).toBe(true);
    expect(selects(sel, makeCookie('service', 7))).toBe(false);
    expect(selects(sel, makeCookie('backend', 7, 1))).toBe(false);
    expect(selects(sel, makeCookie('connection', 8, 1))).toBe(false);
  });

  it('reads the service of a connection-end copy and of a reply guard\'s packet-in, 0 for any other cookie', () => {
    expect(endCopyService(makeCookie('end', 7, 3))).toBe(7);
    expect(endCopyService(makeCookie('end', MAX_SERVICE_ID))).toBe(MAX_SERVICE_ID);
    expect(serviceOfGuard(makeCookie('service', 9))).toBe(9);
    // The edges of each kind's range: the first and last cookie of the kind, and their neighbours of other kinds.
    const first = (kind: 'end' | 'service') => makeCookie(kind, 1) & ~((1n << 44n) - 1n);
    const last = (kind: 'end' | 'service') => first(kind) | ((1n << 44n) - 1n);
    expect([endCopyService(first('end') - 1n), endCopyService(first('end')), endCopyService(last('end')), endCopyService(last('end') + 1n)])
      .toEqual([0, SHARED_END_COPY, 0xffff, 0]);
    // A backend address:port's shared copy flow names no service: its copies are told apart from any service's.
    expect(endCopyService(sharedEndCopyCookie('10.0.1.11', 8080))).toBe(SHARED_END_COPY);
    expect(parseCookie(sharedEndCopyCookie('10.0.1.11', 8080))).toEqual({ kind: 'end', serviceId: 0, connectionId: vipTag('10.0.1.11/8080') });
    expect([serviceOfGuard(first('service') - 1n), serviceOfGuard(first('service')), serviceOfGuard(last('service')), serviceOfGuard(last('service') + 1n)])
      .toEqual([0, 0, 0xffff, 0]);
    expect(endCopyService(0n)).toBe(0);
    expect(endCopyService(0xffffffffffffffffn)).toBe(0);
    for (const other of [makeCookie('connection', 7, 3), makeCookie('service', 7), makeCookie('pipeline'), 0xad00_6000_0070_0000n]) {
      expect(endCopyService(other)).toBe(0);
    }
    for (const other of [makeCookie('end', 9), makeCookie('connection', 9, 1), 0xad00_3000_0090_0000n]) {
      expect(serviceOfGuard(other)).toBe(0);
    }
  });

  it('knows whether a selector could reach foreign flows', () => {
    for (const sel of [allVadcFlows(), allFlowsOfService(2), oneConnection(2, 3), allFlowsOfKind('connection')]) expect(maskPinsMagic(sel)).toBe(true);
    expect(maskPinsMagic({ cookie: 0n, cookieMask: 0n })).toBe(false);
    expect(maskPinsMagic({ cookie: 0x1234n << 48n, cookieMask: 0xffffn << 48n })).toBe(false);
    // Pinning only the magic's top byte would reach foreign 0xadXX flows; so would another magic under a full mask.
    expect(maskPinsMagic({ cookie: 0xadc0n << 48n, cookieMask: 0xff00n << 48n })).toBe(false);
    expect(maskPinsMagic({ cookie: 0xad01n << 48n, cookieMask: 0xffffn << 48n })).toBe(false);
  });

  it('connectionIndex: a connection cookie as service x 2^28 + connection id, -1 for any other cookie; and back', () => {
    const index = connectionIndex(makeCookie('connection', 3, 5));
    expect(index).toBe(3 * 2 ** 28 + 5);
    expect([serviceOfConnectionIndex(index), connectionOfConnectionIndex(index)]).toEqual([3, 5]);
    const last = connectionIndex(makeCookie('connection', MAX_SERVICE_ID, MAX_CONNECTION_ID));
    expect(last).toBe(MAX_SERVICE_ID * 2 ** 28 + MAX_CONNECTION_ID);
    expect([serviceOfConnectionIndex(last), connectionOfConnectionIndex(last)]).toEqual([MAX_SERVICE_ID, MAX_CONNECTION_ID]);
    expect(connectionIndex(makeCookie('service', 3))).toBe(-1);
    expect(connectionIndex(makeCookie('backend', 3))).toBe(-1);
    // Not vadc's (another magic): parseCookie gives null.
    expect(connectionIndex(0xad00_4000_3000_0005n)).toBe(-1);
  });

  it("a VIP's flows carry its tag: the same for every way of writing the VIP and in every run, never 0, outside every service's selector", () => {
    const vips = ['10.0.0.100', '10.0.0.101', '10.0.1.100', '10.2.0.0/16', 'fd00::100', 'fd00::101', 'fd00:9::/64'];
    const tags = vips.map((v) => vipTag(parsePrefix(v).text));
    expect(new Set(tags).size).toBe(vips.length);
    for (const tag of tags) expect(tag).toBeGreaterThan(0);
    for (const tag of tags) expect(tag).toBeLessThanOrEqual(MAX_CONNECTION_ID);
    // The hash is fixed (a restart must recognise its own VIPs' flows): FNV-1a of the text, 28 bits.
    expect(vipTag('10.0.0.100')).toBe(0xfe9c9915 & MAX_CONNECTION_ID); // python: FNV-1a 32 of b'10.0.0.100'
    expect(buildVipFlows('10.0.0.100/32').map((f) => f.cookie)).toEqual(Array(3).fill(vipCookie('10.0.0.100')));
    expect(buildVipFlows('fd00:0::0100').map((f) => parseCookie(f.cookie))).toEqual(Array(3).fill({ kind: 'vip', serviceId: 0, connectionId: vipTag('fd00::100') }));
    for (const id of [1, 0x11b, MAX_SERVICE_ID]) expect(selects(allFlowsOfService(id), vipCookie('10.0.0.100'))).toBe(false);
    expect(selects(allFlowsOfKind('vip'), vipCookie('fd00:9::/64'))).toBe(true);
  });
});
