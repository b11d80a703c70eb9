import { OFPFC_ADD, OFPFC_DELETE } from '../../../src/openflow';
import { ResponseCorrelator } from '../../../src/bench/correlator';
import { emptyTuple, HAS, type ObservedTuple } from '../../../src/bench/wire';

const CLIENT = { ip: 0xac100001, port: 2000 };
const VIP = { ip: 0x0a000064, port: 80 };
const BACKEND = { ip: 0x0a00000b, port: 8080 };
const FULL = HAS.SRC_IP | HAS.DST_IP | HAS.SRC_PORT | HAS.DST_PORT | HAS.PROTO;

function tuple(src: { ip: number; port: number }, dst: { ip: number; port: number }, tableId: number, command = OFPFC_ADD): ObservedTuple {
  return { ...emptyTuple(), proto: 6, srcIp: src.ip, srcPort: src.port, dstIp: dst.ip, dstPort: dst.port, tableId, command, present: FULL };
}
const forward = (client = CLIENT) => tuple(client, VIP, 1);
const reverse = (client = CLIENT) => tuple(BACKEND, client, 2);
const packetOut = (client = CLIENT) => ({ ...tuple(client, VIP, -1), command: -1 });

describe('ResponseCorrelator', () => {
  it('counts a response only once both flow-mods and the packet-out arrived, with its latency', () => {
    const c = new ResponseCorrelator(2);
    c.track(CLIENT.ip, CLIENT.port, 1_000);
    expect(c.onFlowMod(forward(), 1_500)).toBe(-1);
    expect(c.onFlowMod(reverse(), 1_700)).toBe(-1);
    expect(c.counters.completed).toBe(0);
    expect(c.onPacketOut(packetOut(), 2_000)).toBe(1_000);
    expect(c.counters).toEqual({ completed: 1, duplicates: 0, unmatched: 0, packetOutFirst: 0 });
    expect(c.inFlight).toBe(0);
  });

  it('does not count a duplicate flow-mod twice (two forwards are not forward + reverse)', () => {
    const c = new ResponseCorrelator(2);
    c.track(CLIENT.ip, CLIENT.port, 0);
    c.onFlowMod(forward(), 1);
    expect(c.onFlowMod(forward(), 2)).toBe(-1);
    expect(c.onPacketOut(packetOut(), 3)).toBe(-1);
    expect(c.counters.completed).toBe(0);
    expect(c.counters.duplicates).toBe(1);
    expect(c.onFlowMod(reverse(), 4)).toBe(4);
    expect(c.counters.completed).toBe(1);
  });

  it('notes a packet-out sent before the flows, and a duplicate packet-out', () => {
    const c = new ResponseCorrelator(2);
    c.track(CLIENT.ip, CLIENT.port, 0);
    c.onPacketOut(packetOut(), 1);
    c.onPacketOut(packetOut(), 2);
    expect(c.counters).toMatchObject({ packetOutFirst: 1, duplicates: 1, completed: 0 });
  });

  it('ignores messages for tuples it never sent, late repeats after completion, and deletes', () => {
    const c = new ResponseCorrelator(2);
    const other = { ip: 0xac100002, port: 2000 };
    c.track(CLIENT.ip, CLIENT.port, 0);
    expect(c.onFlowMod(forward(other), 1)).toBe(-1);
    expect(c.onPacketOut(packetOut(other), 1)).toBe(-1);
    expect(c.onFlowMod({ ...forward(), command: OFPFC_DELETE }, 1)).toBe(-1);
    c.onFlowMod(forward(), 2);
    c.onFlowMod(reverse(), 3);
    c.onPacketOut(packetOut(), 4);
    expect(c.onFlowMod(reverse(), 5)).toBe(-1);
    expect(c.counters).toEqual({ completed: 1, duplicates: 0, unmatched: 4, packetOutFirst: 0 });
  });

  it('keeps packet-ins apart: answers for one do not complete another', () => {
    const c = new ResponseCorrelator(2);
    const second = { ip: CLIENT.ip, port: 2001 };
    c.track(CLIENT.ip, CLIENT.port, 0);
    c.track(second.ip, second.port, 10);
    c.onFlowMod(forward(), 20);
    c.onFlowMod(reverse(second), 21);
    c.onPacketOut(packetOut(second), 22);
    expect(c.counters.completed).toBe(0);
    expect(c.onFlowMod(forward(second), 30)).toBe(20);
    expect(c.inFlight).toBe(1);
    expect(c.abandon()).toBe(1);
  });

  it('honours another expected flow-mod count, and refuses reusing a tuple in flight', () => {
    const one = new ResponseCorrelator(1);
    one.track(CLIENT.ip, CLIENT.port, 0);
    one.onFlowMod(forward(), 1);
    expect(one.onPacketOut(packetOut(), 2)).toBe(2);
    one.track(CLIENT.ip, CLIENT.port, 3);
    expect(() => one.track(CLIENT.ip, CLIENT.port, 4)).toThrow(/already has a packet-in in flight/);
    expect(() => new ResponseCorrelator(-1)).toThrow(RangeError);
  });
});
