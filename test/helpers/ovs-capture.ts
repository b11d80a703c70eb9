// Getting Open vSwitch's own OpenFlow 1.3 bytes for the codec's golden tests, and the fixture file that keeps them
// (test/fixtures/ovs-of13/vectors.json; see its README.md).
// - recordOfctl(): runs `ovs-ofctl -O OpenFlow13 --no-names CMD unix:LISTENER ...` against a tiny listener that
//   answers hello, barrier and multipart requests and records every other message ovs-ofctl sends.
// - ovsErrorReply(): `ovs-ofctl encode-error-reply NAME REQUEST_HEX`, OVS's own error encoding, offline.
// - RawPeer: a controller-side connection to a switch that keeps each message's exact bytes (no decoding).
// Nothing here decodes with the codec under test: frames are cut by the header's length only.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const VECTORS_FILE = path.resolve(__dirname, '../fixtures/ovs-of13/vectors.json');

export type VectorSource = 'ovs-ofctl' | 'ovs-vswitchd';
export interface OvsVector {
  name: string;
  /** ovs-ofctl: bytes ovs-ofctl wrote; ovs-vswitchd: bytes a private ovs-vswitchd sent to a controller. */
  from: VectorSource;
  /** How the bytes were produced, to rerun by hand. */
  command: string;
  hex: string;
}
export interface VectorFile { about: string; ovs: string; vectors: OvsVector[] }

export function readVectors(): VectorFile {
  return JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8')) as VectorFile;
}

/** Replaces the vectors of one source (kept in the order given), leaving the other source's as they are. */
export function writeVectors(from: VectorSource, vectors: OvsVector[], ovsVersion: string): void {
  const file = fs.existsSync(VECTORS_FILE) ? readVectors() : { about: '', ovs: '', vectors: [] };
  const others = file.vectors.filter((v) => v.from !== from);
  const all = from === 'ovs-ofctl' ? [...vectors, ...others] : [...others, ...vectors];
  const out: VectorFile = {
    about: 'OpenFlow 1.3 messages as Open vSwitch encodes them; see README.md here for how each source is re-derived.',
    ovs: ovsVersion,
    vectors: all,
  };
  fs.writeFileSync(VECTORS_FILE, `${JSON.stringify(out, null, 2)}\n`);
}

/** True when the test run should rewrite the fixture from fresh captures instead of comparing. */
export const WRITE_VECTORS = process.env.VADC_OVS_VECTORS === 'write';

const OVS_OFCTL = '/usr/bin/ovs-ofctl';

/** The ovs-ofctl binary, on PATH or at its Debian place; missing fails the caller's test. */
export function ovsOfctl(): string {
  for (const candidate of ['ovs-ofctl', OVS_OFCTL]) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`ovs-ofctl not found (on PATH or at ${OVS_OFCTL}${fs.existsSync(OVS_OFCTL) ? ', present but not runnable' : ''}): `
    + 'the Open vSwitch golden vectors need it; run `npm run setup`');
}

export function ovsVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

/** Bytes of an OVS hex dump (`00000010  04 0e 00 e8 ...-... |ascii|`), every dump line of the text in order. */
export function parseHexDump(text: string): Buffer {
  const hex: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^[0-9a-f]{8} {2}([0-9a-f -]+?)(?: *\|.*)?$/.exec(line);
    if (m) hex.push(...m[1].replace(/-/g, ' ').trim().split(/ +/));
  }
  return Buffer.from(hex.join(''), 'hex');
}

/** Cuts whole OpenFlow messages off the front of a stream buffer by their header lengths. */
function takeFrames(state: { buf: Buffer }, out: Buffer[]): void {
  while (state.buf.length >= 8) {
    const len = state.buf.readUInt16BE(2);
    if (len < 8) throw new Error(`peer sent a header with length ${len}`);
    if (state.buf.length < len) return;
    out.push(Buffer.from(state.buf.subarray(0, len)));
    state.buf = state.buf.subarray(len);
  }
}

function reply(request: Buffer, type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = 4;
  head[1] = type;
  head.writeUInt16BE(8 + body.length, 2);
  request.copy(head, 4, 4, 8);
  return Buffer.concat([head, body]);
}

const OFPT_HELLO = 0;
const OFPT_ECHO_REQUEST = 2;
const OFPT_MULTIPART_REQUEST = 18;
const OFPT_BARRIER_REQUEST = 20;
const OFPMP_GROUP_FEATURES = 8;

/**
 * What a minimal switch answers so ovs-ofctl finishes its command: hello, echo, barrier, and an empty multipart
 * reply of the requested type (group features: all zeros). Anything else is only recorded.
 */
function answer(m: Buffer): Buffer | undefined {
  switch (m[1]) {
    case OFPT_HELLO: return reply(m, OFPT_HELLO, Buffer.alloc(0));
    case OFPT_ECHO_REQUEST: return reply(m, OFPT_ECHO_REQUEST + 1, m.subarray(8));
    case OFPT_BARRIER_REQUEST: return reply(m, OFPT_BARRIER_REQUEST + 1, Buffer.alloc(0));
    case OFPT_MULTIPART_REQUEST: {
      const mpType = m.readUInt16BE(8);
      const head = Buffer.alloc(8);
      head.writeUInt16BE(mpType, 0);
      return reply(m, OFPT_MULTIPART_REQUEST + 1, mpType === OFPMP_GROUP_FEATURES ? Buffer.concat([head, Buffer.alloc(40)]) : head);
    }
    default: return undefined;
  }
}

/** The `ovs-ofctl` argv for a command against `target` (options, command, target, the command's arguments). */
export function ofctlArgs(command: string, target: string, args: readonly string[]): string[] {
  return ['-O', 'OpenFlow13', '--no-names', command, target, ...args];
}

/** Runs ovs-ofctl against a recording listener; returns what it sent, hello and barrier requests left out. */
export async function recordOfctl(binary: string, command: string, args: readonly string[]): Promise<Buffer[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-ofctl-rec-'));
  const sock = path.join(dir, 'listener.sock');
  const sent: Buffer[] = [];
  const server = net.createServer((conn) => {
    const state = { buf: Buffer.alloc(0) };
    conn.on('error', () => undefined);
    conn.on('data', (chunk) => {
      state.buf = Buffer.concat([state.buf, chunk]);
      const frames: Buffer[] = [];
      takeFrames(state, frames);
      for (const m of frames) {
        if (m[1] !== OFPT_HELLO && m[1] !== OFPT_BARRIER_REQUEST) sent.push(m);
        const a = answer(m);
        if (a) conn.write(a);
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(sock, resolve); });
    await new Promise<void>((resolve, reject) => {
      execFile(binary, ofctlArgs(command, `unix:${sock}`, args), { timeout: 10_000 }, (err, _out, stderr) => {
        if (err) reject(new Error(`ovs-ofctl ${command} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        else resolve();
      });
    });
    return sent;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** OVS's encoding of an error reply to `request` (`ovs-ofctl encode-error-reply NAME HEX`). */
export function ovsErrorReply(binary: string, errorName: string, request: Buffer): Buffer {
  return parseHexDump(execFileSync(binary, ['encode-error-reply', errorName, request.toString('hex')], { encoding: 'utf8' }));
}

/** `ovs-ofctl ofp-print HEX`: Open vSwitch's reading of a message, as text. */
export function ovsPrint(binary: string, msg: Buffer): string {
  return execFileSync(binary, ['ofp-print', msg.toString('hex')], { encoding: 'utf8' }).trim();
}

/** A controller-side connection to a switch's unix socket that keeps the exact bytes of every message received. */
export class RawPeer {
  private readonly state = { buf: Buffer.alloc(0) };
  private readonly received: Buffer[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (chunk) => {
      this.state.buf = Buffer.concat([this.state.buf, chunk]);
      try { takeFrames(this.state, this.received); } catch (err) { this.failure = err as Error; }
      this.wake?.();
    });
    sock.on('error', (err) => { this.failure = err; this.wake?.(); });
    sock.on('close', () => { this.failure ??= new Error('switch closed the connection'); this.wake?.(); });
  }

  /** Connects and exchanges OpenFlow 1.3 hellos. */
  static async connect(socketPath: string, hello: Buffer): Promise<RawPeer> {
    const sock = net.createConnection(socketPath);
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    const peer = new RawPeer(sock);
    peer.send(hello);
    await peer.next((m) => m[1] === OFPT_HELLO);
    return peer;
  }

  send(bytes: Buffer): void {
    this.sock.write(Buffer.from(bytes));
  }

  /** The first received message (in arrival order) that passes `test`, waiting up to `timeoutMs`. */
  async next(test: (m: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex(test);
      if (i >= 0) return this.received.splice(i, 1)[0];
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms; received ${this.received.map((m) => m.toString('hex')).join(' ') || 'nothing'}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
      });
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A test for RawPeer.next: message type and, when given, xid. */
export const isMessage = (type: number, xid?: number) => (m: Buffer): boolean => m[1] === type && (xid === undefined || m.readUInt32BE(4) === xid);
