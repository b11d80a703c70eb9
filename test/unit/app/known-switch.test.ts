// The app answers packet-ins only from switches it has up. It remembers the last switch it found known (a BigInt-keyed
// lookup per packet-in is a runtime call), so a switch that went down must be forgotten there too.
import type { PacketIn } from '../../../src/openflow/types';
import { AppHarness, fromClient, NAT_MODES, webOver } from '../../helpers/app-harness';

const SERVICES = webOver(['v-vm1', 'v-vm2']);

describe.each(NAT_MODES)('packet-ins of a switch that went down ($name)', (mode) => {
  it('are answered by neither path, also right after one of that switch was; once it is up again they are', () => {
    const h = new AppHarness(mode, SERVICES);
    const seen: PacketIn[] = [];
    h.standbyCopy = (packetIn) => void seen.push(packetIn);
    h.send(fromClient(40000));
    h.send(fromClient(40001));
    expect(seen).toHaveLength(2);
    const [first, second] = seen;
    // Known: the first is a repeat of a placed connection, the second also (both answered by either path).
    expect(h.app.packetIn(h.sw, first, h.now).length).toBeGreaterThan(0);
    expect(h.app.packetInEncoded(h.sw, second, h.now).length).toBeGreaterThan(0);
    h.install(h.app.switchDown(h.sw.dpid, h.now));
    // A new client's SYN too: answered, it would be refused (its backends are no longer located), not ignored.
    const fresh: PacketIn = { ...first, data: fromClient(40002) };
    for (const packetIn of [first, second, fresh]) {
      expect(h.app.packetIn(h.sw, packetIn, h.now)).toEqual([]);
      expect(h.app.packetInEncoded(h.sw, packetIn, h.now)).toEqual([]);
    }
    h.install(h.app.switchUp(h.sw, h.now));
    expect(h.app.packetInEncoded(h.sw, second, h.now).length).toBeGreaterThan(0);
    expect(h.app.packetIn(h.sw, fresh, h.now).length).toBeGreaterThan(0);
  });
});
