import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { SwitchSession } from '../../../src/controller/session';
import { decode, encode } from '../../../src/openflow';

/** The socket calls a session makes, recorded; nothing goes anywhere. */
class RecordingSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  readonly writes: Buffer[] = [];
  writableLength = 0;
  setNoDelay(): this { return this; }
  private corked: Buffer[] | null = null;
  write(chunk: Buffer): boolean {
    if (this.corked) this.corked.push(chunk);
    else this.writes.push(chunk);
    return true;
  }
  /** Writes between cork() and uncork() leave as one (a net.Socket's writev): recorded as one. */
  cork(): void { this.corked ??= []; }
  uncork(): void {
    if (this.corked?.length) this.writes.push(Buffer.concat(this.corked));
    this.corked = null;
  }
  pause(): this { return this; }
  resume(): this { return this; }
  end(): this { return this; }
  destroy(): this { return this; }
}

/** The messages in the bytes written, in order (by type). */
function typesIn(writes: readonly Buffer[]): string[] {
  const types: string[] = [];
  for (const w of writes) for (let at = 0; at < w.length; at += w.readUInt16BE(at + 2)) types.push(decode(w.subarray(at, at + w.readUInt16BE(at + 2))).type);
  return types;
}

describe('SwitchSession writes', () => {
  it('answers what a chunk of input asked for before the chunk\'s data event returns, in one write with what was pending', () => {
    const socket = new RecordingSocket();
    const session = new SwitchSession(socket as unknown as Socket, {});
    try {
      expect(socket.writes).toHaveLength(0); // our hello waits for the end of the turn ...
      socket.emit('data', encode({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', versions: [4] }] }));
      // ... or for the answer to the switch's hello (the features request), whichever comes first: one write.
      expect(socket.writes).toHaveLength(1);
      expect(typesIn(socket.writes)).toEqual(['hello', 'features_request']);
      socket.emit('data', encode({ type: 'echo_request', xid: 7, data: Buffer.from('ping') }));
      expect(typesIn(socket.writes.slice(1))).toEqual(['echo_reply']);
    } finally {
      session.drop('test over');
    }
  });
});
