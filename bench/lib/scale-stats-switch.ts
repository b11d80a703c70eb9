// A bare emulated switch for the stats-polling benchmark: handshake and statistics only, with a port per
// backend. Multipart replies are split into parts flagged REPLY_MORE, as a real switch does once a reply
// outgrows the 64 KiB OpenFlow message limit (1,000 ports of port_desc or port_stats do).
import net from 'node:net';
import { OFP_VERSION, OFPMPF_REPLY_MORE, decode, encode } from '../../src/openflow';
import type { MultipartReplyBody, OfpMessage } from '../../src/openflow';
import { answerControllerMessage, buildPorts, type EmulatedSwitchState } from '../../src/bench/switch-replies';

/** Entries per multipart part: 1,000 port_stats entries (112 B each) need two parts. */
export const ENTRIES_PER_PART = 400;

/** Splits a multipart reply with an entry list into parts of at most `perPart` entries, REPLY_MORE on all but the last. */
export function splitMultipartReply(reply: Extract<OfpMessage, { type: 'multipart_reply' }>, perPart = ENTRIES_PER_PART): OfpMessage[] {
  const body = reply.body as MultipartReplyBody & { entries?: unknown[] };
  if (!Array.isArray(body.entries) || body.entries.length <= perPart) return [reply];
  const parts: OfpMessage[] = [];
  for (let at = 0; at < body.entries.length; at += perPart) {
    const last = at + perPart >= body.entries.length;
    parts.push({
      ...reply, flags: last ? reply.flags & ~OFPMPF_REPLY_MORE : reply.flags | OFPMPF_REPLY_MORE,
      body: { ...body, entries: body.entries.slice(at, at + perPart) } as MultipartReplyBody,
    });
  }
  return parts;
}

export class StatsSwitch {
  /** Multipart (statistics) requests answered. */
  statsRequests = 0;
  private readonly state: EmulatedSwitchState;
  private socket?: net.Socket;
  private pending = Buffer.alloc(0);

  constructor(dpid: bigint, portNames: readonly string[]) {
    this.state = { dpid, ports: buildPorts(0, portNames), missSendLen: 0xffff, configFlags: 0 };
  }

  connect(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.write(encode({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', versions: [OFP_VERSION] }] }));
        resolve();
      });
      this.socket = socket;
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
      const length = buf.readUInt16BE(2);
      if (length < 8) throw new RangeError(`controller sent a message of length ${length}`);
      const bytes = buf.subarray(0, length);
      buf = buf.subarray(length);
      const msg = decode(bytes);
      if (msg.type === 'multipart_request') this.statsRequests++;
      const action = answerControllerMessage(msg, this.state, bytes);
      if (action.kind !== 'reply') continue;
      for (const reply of action.messages) {
        for (const part of reply.type === 'multipart_reply' ? splitMultipartReply(reply) : [reply]) out.push(encode(part));
      }
    }
    this.pending = Buffer.from(buf);
    if (out.length) this.socket?.write(Buffer.concat(out));
  }
}
