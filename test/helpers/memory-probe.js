// Preloaded into a vadc under test (`node --expose-gc -r test/helpers/memory-probe.js`, the resilience soak): on
// SIGUSR2 it runs a full garbage collection and appends process.memoryUsage(), V8's compiled code size and its young
// generation's (new space's) committed size as one JSON line to the file named by VADC_MEMORY_PROBE. Figures taken after a full collection are the live set: the
// collector's sawtooth (heap 23 -> 47 MiB and back within a 2-minute soak, RSS following V8's heap sizing) is not in
// them, a leak is. VADC_MEMORY_SNAPSHOTS=DIR also writes a heap snapshot there at each probe (to see what grows;
// each one stalls vadc for about a second), or only at the probes VADC_MEMORY_SNAPSHOTS_AT lists (1-based, e.g.
// "3,12,24"); compare them with scripts/heap-diff.js.
'use strict';
const { appendFileSync } = require('node:fs');
const v8 = require('node:v8');
const { isMainThread } = require('node:worker_threads');

const out = process.env.VADC_MEMORY_PROBE;
const snapshotsAt = process.env.VADC_MEMORY_SNAPSHOTS_AT ? new Set(process.env.VADC_MEMORY_SNAPSHOTS_AT.split(',').map(Number)) : undefined;
let probes = 0;
// Workers inherit the preload (execArgv); only the daemon's main thread answers.
if (isMainThread && out && typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    probes++;
    global.gc();
    const code = v8.getHeapCodeStatistics();
    const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    appendFileSync(out, `${JSON.stringify({
      at: Date.now(), ...process.memoryUsage(),
      codeBytes: code.code_and_metadata_size + code.bytecode_and_metadata_size,
      newSpaceBytes: newSpace ? newSpace.space_size : 0,
    })}\n`);
    if (process.env.VADC_MEMORY_SNAPSHOTS && (!snapshotsAt || snapshotsAt.has(probes))) {
      v8.writeHeapSnapshot(`${process.env.VADC_MEMORY_SNAPSHOTS}/${String(probes).padStart(3, '0')}-${Date.now()}.heapsnapshot`);
    }
  });
}
