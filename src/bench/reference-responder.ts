// REFERENCE RESPONDER, not vadc: a minimal ControllerApp that answers every TCP/UDP packet-in with a
// forward and a reverse NAT flow and a packet-out, with round-robin over the switch's backend ports.
// It exists only to validate the generator (tests, and a ceiling to compare vadc's app with); its
// figures are never reported as vadc's.
import type { ControllerApp, SwitchInfo } from '../controller/types';
import { buildConnectionFlows, buildResubmitPacketOut, MAX_CONNECTION_ID } from '../flows';
import { parsePacket } from '../flows/packets';
import type { OfpMessage, PacketIn } from '../openflow';

export interface ReferenceResponderOptions {
  /** Port names (in each switch's port table) of the backends; the first port found by each name is used. */
  backendPortNames: (sw: SwitchInfo) => readonly string[];
  backendIp: (sw: SwitchInfo, index: number) => string;
  backendPort: number;
  vipMac: (vip: string) => string;
}

export class ReferenceResponder implements ControllerApp {
  private nextConnectionId = 1;
  private turn = 0;

  constructor(private readonly opts: ReferenceResponderOptions) {}

  onPacketIn(sw: SwitchInfo, msg: PacketIn): OfpMessage[] {
    const parsed = parsePacket(msg.data);
    const inPortOxm = msg.match.find((m) => m.field === 'in_port');
    if (!parsed.ok || !parsed.packet.ipv4 || !parsed.packet.l4 || !inPortOxm || inPortOxm.field === 'raw') return [];
    const { ipv4, l4, ethSrc } = parsed.packet;
    const names = this.opts.backendPortNames(sw);
    if (names.length === 0) return [];
    const index = this.turn++ % names.length;
    const backendPort = [...sw.ports.values()].find((p) => p.name === names[index]);
    if (!backendPort) return [];
    const connectionId = this.nextConnectionId;
    this.nextConnectionId = (this.nextConnectionId % MAX_CONNECTION_ID) + 1;
    const inPort = Number(inPortOxm.value);
    const flows = buildConnectionFlows({
      serviceId: 1, connectionId, protocol: ipv4.proto === 17 ? 'udp' : 'tcp', idleTimeout: 60,
      client: { ofport: inPort, mac: ethSrc, ip: ipv4.src, port: l4.src },
      vip: { mac: this.opts.vipMac(ipv4.dst), ip: ipv4.dst, port: l4.dst },
      backend: { ofport: backendPort.portNo, mac: backendPort.hwAddr, ip: this.opts.backendIp(sw, index), port: this.opts.backendPort },
    });
    return [...flows, buildResubmitPacketOut(msg.data, inPort)];
  }
}
