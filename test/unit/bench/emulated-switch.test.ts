import net from 'node:net';
import { EmulatedSwitch } from '../../../src/bench/emulated-switch';
import { buildConnectionFlows, buildResubmitPacketOut, parsePacket } from '../../../src/flows';
import { OfpFramer, encode, type OfpMessage, type PacketIn } from '../../../src/openflow';

/** A scripted controller: hands each message from the switch to the test, sends what the test says. */
class ScriptedController {
  readonly server = net.createServer((socket) => this.onConnection(socket));
  private socket?: net.Socket;
  private waiters: Array<{ match: (m: OfpMessage) => boolean; resolve: (m: OfpMessage) => void }> = [];
  private received: OfpMessage[] = [];

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  send(...msgs: OfpMessage[]): void {
    this.socket?.write(Buffer.concat(msgs.map(encode)));
  }

  /** The next message from the switch that matches (already received or still to come). */
  next(match: (m: OfpMessage) => boolean): Promise<OfpMessage> {
    const index = this.received.findIndex(match);
    if (index >= 0) return Promise.resolve(this.received.splice(index, 1)[0]);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): Promise<void> {
    this.socket?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    this.socket = socket;
    const framer = new OfpFramer();
    socket.on('data', (chunk) => {
      for (const item of framer.push(chunk)) {
        if (item.kind !== 'message') throw new Error(`switch sent a bad message: ${item.kind}`);
        const waiter = this.waiters.findIndex((w) => w.match(item.message));
        if (waiter >= 0) this.waiters.splice(waiter, 1)[0].resolve(item.message);
        else this.received.push(item.message);
      }
    });
  }
}

const ofType = <T extends OfpMessage['type']>(type: T) => (m: OfpMessage): m is Extract<OfpMessage, { type: T }> => m.type === type;

describe('EmulatedSwitch against a scripted controller', () => {
  let controller: ScriptedController;
  let sw: EmulatedSwitch | undefined;

  beforeEach(() => {
    controller = new ScriptedController();
  });
  afterEach(async () => {
    sw?.close();
    await controller.close();
  });

  it('does the handshake, ignores a wrong-xid echo reply, and counts one response per fully answered packet-in', async () => {
    const port = await controller.listen();
    const latencies: number[] = [];
    sw = new EmulatedSwitch({
      index: 0, switches: 1, dpid: 0x77n, host: '127.0.0.1', port, portNames: ['v-vm1', 'v-vm2', 'v-cl1'], clientPortName: 'v-cl1',
      protocol: 'tcp', family: 'ipv4', vip: '10.0.0.100', vipMac: '02:00:0a:00:00:64', servicePort: 80, clients: 10, window: 1, expectedFlowMods: 2,
      onResponse: (ns) => latencies.push(ns),
    });
    let ready = false;
    const connected = sw.connect().then(() => { ready = true; });

    expect(await controller.next(ofType('hello'))).toMatchObject({ type: 'hello' });
    controller.send(
      { type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', versions: [4] }] },
      { type: 'features_request', xid: 100 },
      { type: 'set_config', xid: 101, flags: 0, missSendLen: 0xffff },
      { type: 'multipart_request', xid: 102, flags: 0, body: { mpType: 'port_desc' } },
    );
    expect(await controller.next(ofType('features_reply'))).toMatchObject({ xid: 100, datapathId: 0x77n });
    const ports = await controller.next(ofType('multipart_reply'));
    expect(ports).toMatchObject({ xid: 102, body: { mpType: 'port_desc' } });
    const echo = await controller.next(ofType('echo_request'));

    // A reply with the wrong xid must not count as the switch's readiness probe; the barrier proves it was read.
    controller.send({ type: 'echo_reply', xid: echo.xid + 1000, data: Buffer.alloc(0) }, { type: 'barrier_request', xid: 103 });
    await controller.next(ofType('barrier_reply'));
    expect(ready).toBe(false);
    controller.send({ type: 'echo_reply', xid: echo.xid, data: Buffer.alloc(0) });
    await connected;

    sw.start();
    const packetIn = (await controller.next(ofType('packet_in'))) as PacketIn;
    expect(packetIn).toMatchObject({ bufferId: 0xffffffff, reason: 0, tableId: 1, match: [{ field: 'in_port', value: 3 }] });
    const parsed = parsePacket(packetIn.data);
    if (!parsed.ok || !parsed.packet.ipv4 || !parsed.packet.l4) throw new Error('packet-in carries no TCP/IPv4 frame');
    const { ipv4, l4, ethSrc } = parsed.packet;
    expect(ipv4).toMatchObject({ dst: '10.0.0.100', proto: 6 });
    const flows = (clientPort: number) => buildConnectionFlows({
      serviceId: 1, connectionId: 1, protocol: 'tcp', idleTimeout: 60,
      client: { ofport: 3, mac: ethSrc, ip: ipv4.src, port: clientPort },
      vip: { mac: '02:00:0a:00:00:64', ip: ipv4.dst, port: 80 },
      backend: { ofport: 1, mac: '02:50:00:00:00:01', ip: '10.0.0.11', port: 8080 },
    }).map((f, i) => ({ ...f, xid: 500 + i }));
    const [forward, reverse] = flows(l4.src);
    const [strangerForward] = flows(l4.src + 1);
    controller.send(forward, forward, strangerForward, { ...buildResubmitPacketOut(packetIn.data, 3), xid: 510 });
    controller.send({ type: 'barrier_request', xid: 104 });
    await controller.next((m) => m.type === 'barrier_reply' && m.xid === 104);
    expect(sw.correlator.counters).toMatchObject({ completed: 0, duplicates: 1, unmatched: 1, packetOutFirst: 1 });

    controller.send(reverse, { type: 'barrier_request', xid: 105 });
    await controller.next((m) => m.type === 'barrier_reply' && m.xid === 105);
    expect(sw.correlator.counters.completed).toBe(1);
    expect(latencies).toHaveLength(1);
    expect(latencies[0]).toBeGreaterThan(0);
    // Latency mode: the completed packet-in frees the window and the next, with a new 5-tuple, goes out.
    const second = (await controller.next(ofType('packet_in'))) as PacketIn;
    expect(second.data.equals(packetIn.data)).toBe(false);
    expect(sw.counters).toMatchObject({ packetInsSent: 2, flowModsReceived: 4, packetOutsReceived: 1 });
  });
});
