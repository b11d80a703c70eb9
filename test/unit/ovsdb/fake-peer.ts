/** An in-memory byte stream pair and a scripted JSON peer, for JSON-RPC tests without sockets. */
import { Duplex } from 'node:stream';
import { JsonStreamParser } from '../../../src/ovsdb';

export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peerIndex: number): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        ends[peerIndex].push(chunk);
        done();
      },
      final(done) {
        ends[peerIndex].push(null);
        done();
      },
    });
  ends.push(make(1), make(0));
  return [ends[0], ends[1]];
}

/** The server end: collects what the client sends as JSON and lets the test answer. */
export class FakePeer {
  readonly received: Record<string, unknown>[] = [];
  private readonly parser = new JsonStreamParser();
  private waiters: (() => void)[] = [];

  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      for (const message of this.parser.push(chunk)) this.received.push(message as Record<string, unknown>);
      this.waiters.splice(0).forEach((wake) => wake());
    });
  }

  send(message: unknown): void {
    this.stream.write(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first received message matching `match` (already received or arriving later). */
  async next(match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
