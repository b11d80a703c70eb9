// The tracker reader speaks ovs-vswitchd's unixctl protocol (JSON-RPC over a unix socket): a fake
// unixctl server stands in for ovs-vswitchd here; the e2e suites use the real one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BYTES_PER_SLICE, ConntrackReader, ConntrackReadError, defaultVswitchdSocket } from '../../../src/daemon/conntrack-reader';
import { parseConntrackDump } from '../../../src/flows/conntrack-dump';

const LINE = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39644,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39644),zone=2780,mark=3429564418,protoinfo=(state=ESTABLISHED)';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-unixctl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A unixctl server: answers each request with `answer(method, params)`, `delayMs` after it; counts connections. */
async function fakeUnixctl(answer: (method: string, params: unknown[]) => { result?: string; error?: string }, delayMs = 0): Promise<{ socket: string; connections: () => number; close: () => Promise<void> }> {
  const socket = path.join(dir, 'ovs-vswitchd.4242.ctl');
  let connections = 0;
  const server = net.createServer((conn) => {
    connections++;
    conn.on('error', () => undefined); // a reader that refused an answer closes mid-write
    let buffered = '';
    conn.on('data', (chunk) => {
      buffered += chunk.toString();
      // One JSON object per request; the reader sends them whole.
      for (;;) {
        let end = -1;
        try { JSON.parse(buffered); end = buffered.length; } catch { /* incomplete */ }
        if (end < 0) return;
        const req = JSON.parse(buffered.slice(0, end)) as { method: string; params: unknown[]; id: number };
        buffered = buffered.slice(end);
        const a = answer(req.method, req.params);
        const reply = JSON.stringify({ result: a.result ?? null, error: a.error ?? null, id: req.id });
        if (delayMs > 0) setTimeout(() => conn.write(reply), delayMs);
        else conn.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, connections: () => connections, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('ConntrackReader', () => {
  it("measures each reading's wait for the answer's first byte (ovs-vswitchd formats the whole listing first)", async () => {
    const server = await fakeUnixctl(() => ({ result: `${LINE}\n` }), 60);
    const reader = new ConntrackReader({ zone: 2780, appctl: server.socket });
    try {
      const { dump, answerWaitMs } = await reader.readTimed();
      expect(dump.entries).toHaveLength(1);
      // A timer fires no earlier than asked (a lower bound only: no timed assertion).
      expect(answerWaitMs).toBeGreaterThanOrEqual(55);
    } finally {
      reader.close();
      await server.close();
    }
  });

  it("asks for vadc's zone over one long-lived connection and parses the listing", async () => {
    const seen: unknown[][] = [];
    const server = await fakeUnixctl((method, params) => {
      seen.push([method, ...params]);
      return { result: `${LINE}\n` };
    });
    const reader = new ConntrackReader({ zone: 2780, appctl: server.socket });
    try {
      const first = await reader.read();
      const second = await reader.read();
      expect(first.entries).toHaveLength(1);
      expect(first.entries[0]).toMatchObject({ proto: 'tcp', zone: 2780, mark: 3429564418, state: 'ESTABLISHED' });
      expect(second.entries).toHaveLength(1);
      expect(seen).toEqual([['dpctl/dump-conntrack', '-m', 'zone=2780'], ['dpctl/dump-conntrack', '-m', 'zone=2780']]);
      expect(server.connections()).toBe(1);
    } finally {
      reader.close();
      await server.close();
    }
  });

  it('decodes a long listing a slice per turn of the event loop, with the one-shot result; readings at once take turns', async () => {
    const total = 3000;
    const lines = Array.from({ length: total }, (_, i) => LINE.replace('sport=39644,dport=80', `sport=${1024 + (i % 60000)},dport=80`));
    lines[total - 3] = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=99999,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=1),zone=2780';
    const text = `${lines.join('\n')}\n`;
    const server = await fakeUnixctl(() => ({ result: text }));
    let turns = 0;
    const reader = new ConntrackReader({ zone: 2780, appctl: server.socket }, (work) => {
      turns++;
      setImmediate(work);
    });
    try {
      const [first, second] = await Promise.all([reader.read(), reader.read()]);
      const expected = parseConntrackDump(text);
      expect(first).toEqual(expected);
      expect(second).toEqual(expected);
      expect(first.malformed).toEqual([{ line: total - 2, text: lines[total - 3], reason: 'orig: bad ports' }]);
      // Each reading: at least one turn per slice of its answer's bytes.
      expect(turns).toBeGreaterThanOrEqual(2 * Math.ceil(JSON.stringify({ result: text }).length / BYTES_PER_SLICE));
      expect(server.connections()).toBe(1);
    } finally {
      reader.close();
      await server.close();
    }
  });

  it('refuses an answer over its byte bound, closes that connection, and reads again on a new one', async () => {
    let lines = 1000;
    const server = await fakeUnixctl(() => ({ result: Array.from({ length: lines }, () => LINE).join('\n') }));
    const reader = new ConntrackReader({ zone: 2780, appctl: server.socket, maxAnswerBytes: 50_000 });
    try {
      const refused = await reader.read().then(() => undefined, (err: Error) => err);
      expect(refused).toBeInstanceOf(ConntrackReadError);
      expect(refused?.message).toMatch(/answer is over 50000 bytes/);
      lines = 3;
      expect((await reader.read()).entries).toHaveLength(3);
      expect(server.connections()).toBe(2);
    } finally {
      reader.close();
      await server.close();
    }
  });

  it("reports ovs-vswitchd's error and an unreachable socket as ConntrackReadError naming the target", async () => {
    const server = await fakeUnixctl(() => ({ error: 'dpctl/dump-conntrack: no datapath' }));
    const reader = new ConntrackReader({ zone: 7, appctl: server.socket });
    try {
      await expect(reader.read()).rejects.toThrow(ConntrackReadError);
      await expect(reader.read()).rejects.toThrow(/no datapath/);
    } finally {
      reader.close();
      await server.close();
    }
    const gone = new ConntrackReader({ zone: 7, appctl: path.join(dir, 'nothing.ctl') });
    await expect(gone.read()).rejects.toThrow(new RegExp(`${path.join(dir, 'nothing.ctl').replace(/[.]/g, '\\.')}.*dump-conntrack -m zone=7`));
  });

  it("finds ovs-appctl's default target from OVS_RUNDIR's pidfile, and says what is missing", () => {
    writeFileSync(path.join(dir, 'ovs-vswitchd.pid'), '4242\n');
    expect(defaultVswitchdSocket({ OVS_RUNDIR: dir })).toBe(path.join(dir, 'ovs-vswitchd.4242.ctl'));
    rmSync(path.join(dir, 'ovs-vswitchd.pid'));
    expect(() => defaultVswitchdSocket({ OVS_RUNDIR: dir })).toThrow(/ovs-vswitchd\.pid: ENOENT \(set datapath\.appctl\)/);
    writeFileSync(path.join(dir, 'ovs-vswitchd.pid'), 'garbage');
    expect(() => defaultVswitchdSocket({ OVS_RUNDIR: dir })).toThrow(/not a pid/);
  });
});
