// RAW RESPONDER, not vadc: a bare OpenFlow server that answers each TCP/UDP packet-in with pre-encoded
// forward/reverse flow-mods and a packet-out patched in place. It measures the GENERATOR's ceiling (how
// many responses/s the load generator itself can drive and count); no vadc runtime or app code is on its
// path, so its figures are never vadc's.
import net from 'node:net';
import { buildConnectionFlows, buildResubmitPacketOut, type L4Protocol } from '../flows';
import { encode, OFPT } from '../openflow';
import { FRAME_OFFSETS, buildFrameTemplate } from './frames';

const HEADER_LEN = 8;
const PACKET_IN_MATCH_AT = 24;
const OXM_HEADER = { IN_PORT: 0x80000004, TCP_SRC: 0x80001a02, TCP_DST: 0x80001c02, UDP_SRC: 0x80001e02, UDP_DST: 0x80002002 };

/** Placeholder values, chosen so their bytes occur nowhere else in the encoded templates. */
const P = { clientOfport: 0x7eadbee1, clientIp: '203.0.113.77', clientMac: '02:ee:ee:ee:ee:01', clientPort: 0xbeef, vip: '198.51.100.99' };

interface Patch {
  at: number;
  width: 2 | 4 | 6;
  source: 'inPort' | 'clientIp' | 'clientMac' | 'clientPort' | 'vip';
}

interface Template {
  bytes: Buffer;
  patches: Patch[];
}

function offsetsOf(buf: Buffer, needle: Buffer, skip = 0): number[] {
  const found: number[] = [];
  for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) found.push(at + skip);
  return found;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function headerAndPort(header: number, port: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt32BE(header);
  b.writeUInt16BE(port, 4);
  return b;
}

function flowTemplates(protocol: L4Protocol): Template[] {
  const flows = buildConnectionFlows({
    serviceId: 1, connectionId: 1, protocol, idleTimeout: 60,
    client: { ofport: P.clientOfport, mac: P.clientMac, ip: P.clientIp, port: P.clientPort },
    vip: { mac: '02:00:c6:33:64:63', ip: P.vip, port: 80 },
    backend: { ofport: 1, mac: '02:50:00:00:00:01', ip: '10.0.0.11', port: 8080 },
  });
  const [src, dst] = protocol === 'tcp' ? [OXM_HEADER.TCP_SRC, OXM_HEADER.TCP_DST] : [OXM_HEADER.UDP_SRC, OXM_HEADER.UDP_DST];
  return flows.map((flow) => {
    const bytes = encode(flow);
    const patches: Patch[] = [
      ...offsetsOf(bytes, u32(P.clientOfport)).map((at): Patch => ({ at, width: 4, source: 'inPort' })),
      ...offsetsOf(bytes, Buffer.from([203, 0, 113, 77])).map((at): Patch => ({ at, width: 4, source: 'clientIp' })),
      ...offsetsOf(bytes, Buffer.from([198, 51, 100, 99])).map((at): Patch => ({ at, width: 4, source: 'vip' })),
      ...offsetsOf(bytes, Buffer.from([2, 0xee, 0xee, 0xee, 0xee, 1])).map((at): Patch => ({ at, width: 6, source: 'clientMac' })),
      ...offsetsOf(bytes, headerAndPort(src, P.clientPort), 4).map((at): Patch => ({ at, width: 2, source: 'clientPort' })),
      ...offsetsOf(bytes, headerAndPort(dst, P.clientPort), 4).map((at): Patch => ({ at, width: 2, source: 'clientPort' })),
    ];
    return { bytes, patches };
  });
}

interface Answerer {
  flows: Template[];
  packetOut: Buffer;
  frameLength: number;
}

function answerer(protocol: L4Protocol): Answerer {
  const frame = buildFrameTemplate({ protocol, vipMac: '02:00:00:00:00:01', vip: P.vip, servicePort: 80 });
  return { flows: flowTemplates(protocol), packetOut: encode({ ...buildResubmitPacketOut(frame, 1), xid: 0 }), frameLength: frame.length };
}

/** Starts the raw responder on 127.0.0.1; resolves with its port and a close function. */
export async function startRawResponder(): Promise<{ port: number; close: () => Promise<void> }> {
  const byProto = new Map<number, Answerer>([[6, answerer('tcp')], [17, answerer('udp')]]);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    serve(socket, byProto);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function serve(socket: net.Socket, byProto: Map<number, Answerer>): void {
  let xid = 1;
  const header = (type: number, length: number) => {
    const b = Buffer.alloc(length);
    b[0] = 4;
    b[1] = type;
    b.writeUInt16BE(length, 2);
    b.writeUInt32BE(xid++, 4);
    return b;
  };
  // hello (version bitmap for 1.3), features_request, port_desc request: the switch's handshake.
  const hello = Buffer.from('04000010000000010001000800000010', 'hex');
  const portDesc = header(OFPT.MULTIPART_REQUEST, 16);
  portDesc.writeUInt16BE(13, 8);
  socket.write(Buffer.concat([hello, header(OFPT.FEATURES_REQUEST, 8), portDesc]));
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const out: Buffer[] = [];
    let p = 0;
    while (buf.length - p >= HEADER_LEN) {
      const length = buf.readUInt16BE(p + 2);
      if (length < HEADER_LEN) {
        socket.destroy();
        return;
      }
      if (buf.length - p < length) break;
      const type = buf[p + 1];
      if (type === OFPT.PACKET_IN) answerPacketIn(buf, p, byProto, out, () => xid++);
      else if (type === OFPT.ECHO_REQUEST) {
        const reply = Buffer.from(buf.subarray(p, p + length));
        reply[1] = OFPT.ECHO_REPLY;
        out.push(reply);
      }
      p += length;
    }
    pending = p < buf.length ? Buffer.from(buf.subarray(p)) : Buffer.alloc(0);
    if (out.length) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  });
}

function answerPacketIn(buf: Buffer, at: number, byProto: Map<number, Answerer>, out: Buffer[], nextXid: () => number): void {
  const matchLength = buf.readUInt16BE(at + PACKET_IN_MATCH_AT + 2);
  const dataAt = at + PACKET_IN_MATCH_AT + ((matchLength + 7) & ~7) + 2;
  // The generator puts in_port first in the match.
  const inPort = buf.readUInt32BE(at + PACKET_IN_MATCH_AT + 4) === OXM_HEADER.IN_PORT ? buf.readUInt32BE(at + PACKET_IN_MATCH_AT + 8) : 0;
  const answer = byProto.get(buf[dataAt + 23]);
  if (!answer) return;
  for (const template of answer.flows) {
    const msg = Buffer.from(template.bytes);
    msg.writeUInt32BE(nextXid(), 4);
    for (const patch of template.patches) {
      switch (patch.source) {
        case 'inPort': msg.writeUInt32BE(inPort, patch.at); break;
        case 'clientIp': buf.copy(msg, patch.at, dataAt + FRAME_OFFSETS.ipSrc, dataAt + FRAME_OFFSETS.ipSrc + 4); break;
        case 'vip': buf.copy(msg, patch.at, dataAt + FRAME_OFFSETS.ipDst, dataAt + FRAME_OFFSETS.ipDst + 4); break;
        case 'clientMac': buf.copy(msg, patch.at, dataAt + FRAME_OFFSETS.ethSrc, dataAt + FRAME_OFFSETS.ethSrc + 6); break;
        case 'clientPort': buf.copy(msg, patch.at, dataAt + FRAME_OFFSETS.l4Src, dataAt + FRAME_OFFSETS.l4Src + 2); break;
      }
    }
    out.push(msg);
  }
  const packetOut = Buffer.from(answer.packetOut);
  packetOut.writeUInt32BE(nextXid(), 4);
  packetOut.writeUInt32BE(inPort, 12);
  buf.copy(packetOut, packetOut.length - answer.frameLength, dataAt, dataAt + answer.frameLength);
  out.push(packetOut);
}
