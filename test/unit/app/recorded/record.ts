// Records what the app makes of the seeded input sequence (sequence.ts) in every NAT mode, into
// test/fixtures/app-recording.json. Run: node -r ts-node/register/transpile-only test/unit/app/recorded/record.ts
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MODES } from './sequence';
import { recordingFor, RECORDED_SEED, RECORDED_STEPS } from './driver';

const out = path.join(__dirname, '../../../fixtures/app-recording.json');
const recordings = MODES.map((mode) => recordingFor(mode, RECORDED_SEED, RECORDED_STEPS));
writeFileSync(out, `${JSON.stringify(recordings, null, 1)}\n`);
process.stdout.write(`wrote ${out}: ${recordings.map((r) => `${r.mode} ${r.outputs.length} steps, ${r.connections.length} connections left`).join('; ')}\n`);
