// The conntrack mode's edge to OVS's connection tracker: asks ovs-vswitchd for the listing of vadc's zone
// (`dpctl/dump-conntrack -m zone=Z`) over its unixctl socket, the JSON-RPC channel ovs-appctl itself uses, and
// decodes the answer as it arrives, a slice per turn of the event loop (listing-reply.ts). One long-lived connection,
// so a poll costs no process start.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ConntrackDump } from '../flows/conntrack-dump';
import { ListingReplyDecoder, type ListingReply } from './listing-reply';

export class ConntrackReadError extends Error {
  override readonly name = 'ConntrackReadError';
}

export interface ConntrackReaderOptions {
  zone: number;
  /** ovs-vswitchd's unixctl socket; undefined = ovs-appctl's default (OVS_RUNDIR/ovs-vswitchd.PID.ctl). */
  appctl?: string;
  timeoutMs?: number;
  /** The most an answer may be (bytes); a bigger one is refused and the connection closed. Default MAX_ANSWER_BYTES. */
  maxAnswerBytes?: number;
}

/**
 * 512 MiB, the bound the whole-message reader had: a listing of ~1.8 million connections at ~300 bytes a line (-m). What a
 * peer (here ovs-vswitchd, or whatever listens on the configured socket) can make vadc hold stays bounded (issue 18).
 */
export const MAX_ANSWER_BYTES = 512 * 1024 * 1024;

/** Where ovs-appctl would send `-t ovs-vswitchd`: the control socket named after the daemon's pid. */
export function defaultVswitchdSocket(env: NodeJS.ProcessEnv = process.env): string {
  const rundir = env.OVS_RUNDIR ?? '/var/run/openvswitch';
  const pidfile = path.join(rundir, 'ovs-vswitchd.pid');
  let pid: string;
  try {
    pid = readFileSync(pidfile, 'utf8').trim();
  } catch (err) {
    throw new ConntrackReadError(`cannot find ovs-vswitchd's control socket: ${pidfile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (set datapath.appctl)`);
  }
  if (!/^\d+$/.test(pid)) throw new ConntrackReadError(`cannot find ovs-vswitchd's control socket: ${pidfile} holds ${JSON.stringify(pid.slice(0, 20))}, not a pid`);
  return path.join(rundir, `ovs-vswitchd.${pid}.ctl`);
}

/**
 * Bytes of the answer decoded (and the lines they complete parsed) between two turns of the event loop: ~64 lines,
 * ~0.1-0.3 ms on this project's 2-core host. The statistics poll reads the listing every interval, and a new
 * connection's packet-in waits for whatever piece runs when it arrives (issue 15: read and parsed in one go, 3,000
 * TIME_WAIT entries held new connections up to 45 ms; OVS also drops a controller silent past its inactivity probe).
 */
export const BYTES_PER_SLICE = 16 * 1024;

/**
 * -m: each TCP side's state and window scaling, which tell a connection reset before its backend answered from one
 * that worked (tcpEnd); ~120 bytes a line more than without it (id, status, the two sides: docs/benchmarks.md).
 */
const LISTING_PARAMS = (zone: number): string[] => ['-m', `zone=${zone}`];

export class ConntrackReader {
  private socket?: net.Socket;
  private connecting?: Promise<net.Socket>;
  private nextId = 0;
  /** Readings one after another on the one connection (a restore may ask while a poll reads). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ConntrackReaderOptions, private readonly turn: (work: () => void) => void = setImmediate) {}

  /** The unixctl command, as ovs-appctl would be given it (for messages and docs). */
  get command(): string {
    return `dpctl/dump-conntrack -m zone=${this.opts.zone}`;
  }

  read(): Promise<ConntrackDump> {
    return this.readTimed().then((r) => r.dump);
  }

  /**
   * A reading and its answer wait: request -> the answer's first byte, ms. That is ovs-vswitchd's time building the
   * listing on its main thread (it writes nothing before the whole reply is formatted), plus any wait of vadc's event
   * loop before it saw the byte: an upper bound.
   */
  readTimed(): Promise<{ dump: ConntrackDump; answerWaitMs: number }> {
    const reading = this.queue.then(() => this.readNow());
    this.queue = reading.catch(() => undefined);
    return reading;
  }

  private async readNow(): Promise<{ dump: ConntrackDump; answerWaitMs: number }> {
    let target = this.opts.appctl ?? '(default)';
    try {
      target = this.opts.appctl ?? defaultVswitchdSocket();
      const socket = await this.connect(target);
      const id = ++this.nextId;
      const reply = await this.exchange(socket, { method: 'dpctl/dump-conntrack', params: LISTING_PARAMS(this.opts.zone), id }, this.opts.timeoutMs ?? 10_000);
      if (reply.error !== null) throw new Error(`ovs-vswitchd answered: ${typeof reply.error === 'string' ? reply.error : JSON.stringify(reply.error)}`);
      if (reply.id !== id) throw new Error(`answer to request ${JSON.stringify(reply.id)}, expected ${id}`);
      if (!reply.listed) throw new Error(`expected the listing as text, got ${reply.other === null ? 'null' : typeof reply.other}`);
      return { dump: reply.dump, answerWaitMs: reply.answerWaitMs };
    } catch (err) {
      this.close();
      if (err instanceof ConntrackReadError) throw err;
      throw new ConntrackReadError(`cannot read the connection tracker (${target}: ${this.command}): ${(err as Error).message}`);
    }
  }

  /**
   * Sends one request and decodes its answer as it arrives, BYTES_PER_SLICE at a time, one slice per turn of the
   * event loop (the socket is paused meanwhile, so bytes wait in the kernel rather than in a burst of data events).
   */
  private exchange(socket: net.Socket, request: { method: string; params: string[]; id: number }, timeoutMs: number): Promise<ListingReply & { answerWaitMs: number }> {
    return new Promise<ListingReply & { answerWaitMs: number }>((resolve, reject) => {
      const decoder = new ListingReplyDecoder();
      const maxBytes = this.opts.maxAnswerBytes ?? MAX_ANSWER_BYTES;
      let received = 0;
      let sentAt = 0;
      let answerWaitMs = 0;
      const slices: Buffer[] = [];
      let working = false;
      let settled = false;
      const settle = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('error', onError);
        if (err) return reject(err);
        socket.resume();
        try {
          resolve({ ...decoder.reply(), answerWaitMs });
        } catch (e) {
          reject(e as Error);
        }
      };
      const work = (): void => {
        if (settled) return;
        const slice = slices.shift();
        if (!slice) {
          working = false;
          socket.resume();
          return;
        }
        try {
          if (decoder.push(slice)) return settle(slices.length ? new Error('bytes after the answer') : undefined);
        } catch (err) {
          return settle(err as Error);
        }
        timer.refresh();
        this.turn(work);
      };
      const onData = (chunk: Buffer): void => {
        if (received === 0) answerWaitMs = performance.now() - sentAt;
        received += chunk.length;
        if (received > maxBytes) return settle(new Error(`the answer is over ${maxBytes} bytes (the reader's bound)`));
        timer.refresh();
        for (let at = 0; at < chunk.length; at += BYTES_PER_SLICE) slices.push(chunk.subarray(at, at + BYTES_PER_SLICE));
        socket.pause();
        if (!working) {
          working = true;
          this.turn(work);
        }
      };
      const onClose = (): void => settle(new Error('ovs-vswitchd closed the connection'));
      const onError = (err: Error): void => settle(err);
      // A silence, not the whole reading: a listing of 100,000 takes seconds to decode on a loaded host.
      const timer = setTimeout(() => settle(new Error(`no answer for ${timeoutMs} ms`)), timeoutMs);
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', onError);
      sentAt = performance.now();
      socket.write(JSON.stringify(request));
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.connecting = undefined;
  }

  private connect(target: string): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(target);
      socket.once('error', (err) => {
        this.connecting = undefined;
        reject(err);
      });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        // An error with no reading under way: the next reading finds the socket destroyed and connects again.
        socket.on('error', () => undefined);
        socket.once('close', () => {
          if (this.socket === socket) this.socket = undefined;
        });
        this.socket = socket;
        this.connecting = undefined;
        resolve(socket);
      });
    });
    return this.connecting;
  }
}
