// The app as the controller runtime calls it: after each packet-in, what an end copy's ejection changed (the
// flows, a datapath-decided service's group) goes out at once, its own switch's part in the answer.
import { asControllerApp } from '../../../src/app/controller-app';
import type { LoadBalancerApp } from '../../../src/app/app';
import type { OutboundMessage, SwitchInfo } from '../../../src/controller/types';
import type { PacketIn } from '../../../src/openflow/types';

const msg = (xid: number) => ({ type: 'barrier_request', xid }) as unknown as OutboundMessage;

describe('asControllerApp: packet-in', () => {
  function wrap(flushes: { dpid: bigint; msgs: OutboundMessage[] }[][], readingsWanted: boolean[] = []) {
    const sent: { dpid: bigint; msgs: OutboundMessage[] }[] = [];
    const asked = { readings: 0 };
    const app = {
      packetInEncoded: () => [msg(1)],
      outlierFlush: () => flushes.shift() ?? [],
      takeReadingWanted: () => readingsWanted.shift() ?? false,
    } as unknown as LoadBalancerApp;
    const runtime = asControllerApp(app, (dpid, msgs) => sent.push({ dpid, msgs }), () => asked.readings++);
    const sw = { dpid: 1n } as SwitchInfo;
    return { packetIn: () => runtime.onPacketIn(sw, {} as PacketIn, 0), sent, asked };
  }

  it('asks for an accounting reading after a packet-in whose end copy wants one, and only then', () => {
    const { packetIn, asked } = wrap([], [false, true, false]);
    packetIn();
    expect(asked.readings).toBe(0);
    packetIn();
    expect(asked.readings).toBe(1);
    packetIn();
    expect(asked.readings).toBe(1);
  });

  it('appends what the outlier flush changed on this switch and sends the other switches theirs', () => {
    const { packetIn, sent } = wrap([[{ dpid: 1n, msgs: [msg(2)] }, { dpid: 2n, msgs: [msg(3)] }]]);
    expect(packetIn()).toEqual([msg(1), msg(2)]);
    expect(sent).toEqual([{ dpid: 2n, msgs: [msg(3)] }]);
  });

  it('answers with the packet-in\'s own messages alone when nothing changed', () => {
    const { packetIn, sent } = wrap([]);
    expect(packetIn()).toEqual([msg(1)]);
    expect(sent).toEqual([]);
  });
});
