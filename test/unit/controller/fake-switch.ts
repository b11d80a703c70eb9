import net from 'node:net';
import { decode, encode } from '../../../src/openflow';
import type { OfpMessage, OfpPort } from '../../../src/openflow';
import { FrameReader } from '../../../src/controller/frame-reader';

/** An in-process OpenFlow 1.3 switch for unit tests: answers the handshake, records what it receives. */
export interface FakeSwitchOptions {
  dpid: bigint;
  ports?: OfpPort[];
  /** Split the port_desc reply into parts of this many entries (REPLY_MORE). Default: one part. */
  portDescPartSize?: number;
  answerEchoes?: boolean;
  answerBarriers?: boolean;
  /** Send our hello on connect (default true). */
  sendHello?: boolean;
  /** Answer role requests as OVS does for a lone connection (no stale check): the role asked, NOCHANGE as EQUAL. */
  answerRoles?: boolean;
}

export function port(portNo: number, name: string): OfpPort {
  const hex = portNo.toString(16).padStart(2, '0');
  return {
    portNo, name, hwAddr: `02:00:00:00:00:${hex}`, config: 0, state: 4, curr: 0x2040, advertised: 0, supported: 0,
    peer: 0, currSpeed: 10_000_000, maxSpeed: 0,
  };
}

export class FakeSwitch {
  readonly received: OfpMessage[] = [];
  /** Every byte the controller sent, in order. */
  readonly stream: Buffer[] = [];
  closed = false;
  /** With answerRoles: the role granted (EQUAL at first) and the generation held. */
  role = 1;
  generation = (1n << 64n) - 1n;
  private readonly waiters: Array<{ test: (m: OfpMessage) => boolean; resolve: (m: OfpMessage) => void }> = [];
  private readonly closeWaiters: Array<() => void> = [];
  private readonly frames = new FrameReader(0xffff);

  private constructor(
    readonly socket: net.Socket,
    private opts: FakeSwitchOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  static connect(port: number, opts: FakeSwitchOptions): Promise<FakeSwitch> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        const sw = new FakeSwitch(socket, opts);
        if (opts.sendHello !== false) sw.send({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', versions: [1, 4] }] });
        resolve(sw);
      });
      socket.once('error', reject);
    });
  }

  send(msg: OfpMessage): void {
    this.socket.write(encode(msg));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves with the first message (already received or coming) that passes the test. */
  next(test: (m: OfpMessage) => boolean): Promise<OfpMessage> {
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  nextOfType<T extends OfpMessage['type']>(type: T): Promise<Extract<OfpMessage, { type: T }>> {
    return this.next((m) => m.type === type) as Promise<Extract<OfpMessage, { type: T }>>;
  }

  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** From now on echo requests go unanswered: a switch that is still connected but no longer alive. */
  stopAnsweringEchoes(): void {
    this.opts.answerEchoes = false;
  }

  private onData(chunk: Buffer): void {
    this.stream.push(chunk);
    for (const result of this.frames.push(chunk)) {
      if (!result.ok) throw new Error(`controller sent an unframeable stream: ${result.reason}`);
      const msg = decode(result.frame.bytes);
      this.received.push(msg);
      this.autoAnswer(msg);
      for (const w of this.waiters.filter((x) => x.test(msg))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
  }

  private autoAnswer(msg: OfpMessage): void {
    const { opts } = this;
    if (msg.type === 'features_request') {
      this.send({
        type: 'features_reply', xid: msg.xid, datapathId: opts.dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0,
        capabilities: 0x4f, reserved: 0,
      });
    } else if (msg.type === 'multipart_request' && msg.body.mpType === 'port_desc') {
      const ports = opts.ports ?? [];
      const size = opts.portDescPartSize ?? Math.max(ports.length, 1);
      for (let i = 0; i < Math.max(ports.length, 1); i += size) {
        const last = i + size >= ports.length;
        this.send({
          type: 'multipart_reply', xid: msg.xid, flags: last ? 0 : 1,
          body: { mpType: 'port_desc', entries: ports.slice(i, i + size) },
        });
      }
    } else if (msg.type === 'echo_request' && opts.answerEchoes !== false) {
      this.send({ type: 'echo_reply', xid: msg.xid, data: msg.data });
    } else if (msg.type === 'role_request' && opts.answerRoles) {
      if (msg.role !== 0) this.role = msg.role;
      if (msg.role === 2 || msg.role === 3) this.generation = msg.generationId;
      this.send({ type: 'role_reply', xid: msg.xid, role: this.role, generationId: this.generation });
    } else if (msg.type === 'barrier_request' && opts.answerBarriers !== false) {
      this.send({ type: 'barrier_reply', xid: msg.xid });
    }
  }
}
