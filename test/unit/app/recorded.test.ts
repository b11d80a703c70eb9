// The app's decisions over a recorded mixed input sequence (packet-ins of every kind, flow removals, link
// changes, vNIC changes, health verdicts, drains, tracker readings) in every NAT mode: the same wire bytes
// and events as the recording made before the redesign (test/fixtures/app-recording.json).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { recordingFor } from './recorded/driver';
import type { Recording } from './recorded/sequence';

const recordings = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/app-recording.json'), 'utf8')) as Recording[];

// The replay runs inside the test, not while the file is collected: a wrong answer then fails this test (rather than
// the whole file failing to load), and mutation testing sees which test reached which code (docs/mutation.md).
describe.each(recordings.map((r) => [r.mode, r] as const))('recorded sequence, %s mode', (_mode, recorded) => {
  it('produces the same messages, byte for byte, and the same events at every step, and ends with the same connection table', () => {
    const now = recordingFor(recorded.mode, recorded.seed, recorded.outputs.length - 1);
    expect(now.outputs).toHaveLength(recorded.outputs.length);
    recorded.outputs.forEach((expected, step) => expect({ step, ...now.outputs[step] }).toEqual({ step, ...expected }));
    // The sequence exercises what it claims to: new connections, refusals and location changes.
    const kinds = new Set(recorded.outputs.flatMap((o) => o.events.map((e) => e.split(' ')[0])));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['backend_located', 'backend_lost', 'connection_refused']));
    expect(recorded.outputs.filter((o) => o.messages.length).length).toBeGreaterThan(400);
    expect(now.connections).toEqual(recorded.connections);
    expect(recorded.connections.length).toBeGreaterThan(5);
  });
});
