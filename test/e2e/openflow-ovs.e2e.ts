// Re-derives the codec's golden vectors that come from a real ovs-vswitchd (test/fixtures/ovs-of13/vectors.json,
// from: ovs-vswitchd): a private switch on the dummy datapath gets our requests over its management socket and
// its replies must be the fixture's bytes (group stats: the same but for the durations, which run on).
// VADC_OVS_VECTORS=write rewrites those fixture entries from this run instead.
import { decode, encode, OFPCR_ROLE_MASTER, OFPCR_ROLE_NOCHANGE, OFPT } from '../../src/openflow';
import type { OfpMessage } from '../../src/openflow';
import { RawPeer, WRITE_VECTORS, isMessage, ovsOfctl, ovsVersion, readVectors, writeVectors } from '../helpers/ovs-capture';
import type { OvsVector } from '../helpers/ovs-capture';
import { startPrivateSwitch } from '../helpers/ovs-private-switch';
import type { PrivateSwitch } from '../helpers/ovs-private-switch';

const HELLO = encode({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', versions: [4] }] });
/** The generation the first master claims; the second claims one more, so the first is demoted and then stale. */
const GENERATION = 0x1122334455667788n;

interface Captured { name: string; command: string; bytes: Buffer }

/** Talks to the switch as two controllers, A and B, in this order; each reply kept is one vector. */
async function captureSwitch(sw: PrivateSwitch): Promise<Captured[]> {
  const out: Captured[] = [];
  const keep = (name: string, command: string, bytes: Buffer): void => { out.push({ name, command, bytes }); };
  const a = await RawPeer.connect(sw.mgmt, HELLO);
  const b = await RawPeer.connect(sw.mgmt, HELLO);
  try {
    b.send(encode({ type: 'role_request', xid: 0x20, role: OFPCR_ROLE_NOCHANGE, generationId: 0n }));
    keep('role_reply_query_fresh', 'B: role_request nochange before any master (xid 0x20)', await b.next(isMessage(OFPT.ROLE_REPLY, 0x20)));
    a.send(encode({ type: 'role_request', xid: 0x11, role: OFPCR_ROLE_MASTER, generationId: GENERATION }));
    keep('role_reply_master', 'A: role_request master generation_id=0x1122334455667788 (xid 0x11)', await a.next(isMessage(OFPT.ROLE_REPLY, 0x11)));
    a.send(encode({ type: 'get_async_request', xid: 0x12 }));
    keep('get_async_reply_default', 'A: get_async_request on a fresh connection (xid 0x12)', await a.next(isMessage(OFPT.GET_ASYNC_REPLY, 0x12)));
    a.send(encode({ type: 'set_async', xid: 0x13, packetInMask: [0x1, 0x6], portStatusMask: [0x5, 0x2], flowRemovedMask: [0xb, 0x4] }));
    a.send(encode({ type: 'get_async_request', xid: 0x14 }));
    keep('get_async_reply_after_set', 'A: set_async packet_in 1/6 port_status 5/2 flow_removed 0xb/4, then get_async_request (xid 0x14)',
      await a.next(isMessage(OFPT.GET_ASYNC_REPLY, 0x14)));

    b.send(encode({ type: 'role_request', xid: 0x21, role: OFPCR_ROLE_MASTER, generationId: GENERATION + 1n }));
    await b.next(isMessage(OFPT.ROLE_REPLY, 0x21));
    keep('onf_role_status_demoted', 'B: role_request master generation_id=0x1122334455667789; what A receives',
      await a.next(isMessage(OFPT.EXPERIMENTER)));
    a.send(encode({ type: 'role_request', xid: 0x15, role: OFPCR_ROLE_NOCHANGE, generationId: 0n }));
    keep('role_reply_query', 'A (demoted): role_request nochange (xid 0x15)', await a.next(isMessage(OFPT.ROLE_REPLY, 0x15)));
    a.send(encode({
      type: 'flow_mod', xid: 0x16, cookie: 0x5en, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0,
      priority: 7, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [], instructions: [],
    }));
    keep('error_is_slave', 'A (slave): flow_mod priority=7 cookie=0x5e (xid 0x16)', await a.next(isMessage(OFPT.ERROR, 0x16)));
    a.send(encode({ type: 'role_request', xid: 0x17, role: OFPCR_ROLE_MASTER, generationId: GENERATION - 1n }));
    keep('error_role_stale', 'A: role_request master generation_id=0x1122334455667787 (xid 0x17)', await a.next(isMessage(OFPT.ERROR, 0x17)));
    a.send(encode({ type: 'role_request', xid: 0x18, role: 7, generationId: 0n }));
    keep('error_role_bad_role', 'A: role_request role=7 (xid 0x18)', await a.next(isMessage(OFPT.ERROR, 0x18)));
  } finally {
    a.close();
    b.close();
  }
  return out;
}

/** Durations run on between runs; everything else must repeat exactly. */
function withoutDurations(m: OfpMessage): unknown {
  return JSON.parse(JSON.stringify(m, (k, v: unknown) => (k === 'durationSec' || k === 'durationNsec' ? 0
    : typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v)));
}

let sw: PrivateSwitch;
let captured: Captured[];

beforeAll(async () => {
  sw = startPrivateSwitch();
  captured = await captureSwitch(sw);
}, 60_000);

afterAll(() => sw?.stop());

describe('golden vectors re-derived from a private ovs-vswitchd', () => {
  it(WRITE_VECTORS ? 'writes the fixture entries from this run' : 'gives the fixture bytes for every ovs-vswitchd vector', () => {
    const fresh: OvsVector[] = captured.map((c) => ({ name: c.name, from: 'ovs-vswitchd', command: c.command, hex: c.bytes.toString('hex') }));
    if (WRITE_VECTORS) {
      writeVectors('ovs-vswitchd', fresh, ovsVersion(ovsOfctl()));
      return;
    }
    const fixture = readVectors().vectors.filter((v) => v.from === 'ovs-vswitchd');
    expect(fresh.map((v) => v.name)).toEqual(fixture.map((v) => v.name));
    fresh.forEach((v, i) => {
      const want = fixture[i];
      expect(v.command).toBe(want.command);
      const got = Buffer.from(v.hex, 'hex');
      // The fresh bytes must be a message the codec reproduces exactly, equal to the fixture's but for durations.
      expect(encode(decode(got)).toString('hex')).toBe(v.hex);
      expect({ name: v.name, message: withoutDurations(decode(got)) })
        .toEqual({ name: v.name, message: withoutDurations(decode(Buffer.from(want.hex, 'hex'))) });
      if (!/"duration(Sec|Nsec)"/.test(JSON.stringify(withoutDurations(decode(got))))) expect({ name: v.name, hex: v.hex }).toEqual({ name: want.name, hex: want.hex });
    });
  });
});
