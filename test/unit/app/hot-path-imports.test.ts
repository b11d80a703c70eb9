// The packet-in path's modules import from the modules that define what they use, not from a barrel (an index.ts with
// `export * from`): compiled to CommonJS, each name a barrel re-exports is a getter `() => m[k]` shared by all of its
// names, so a call through it is a megamorphic keyed load per packet-in (services.lookup's containsIpv4 through
// '../net' cost ~440 instructions per new connection, callgrind, docs/benchmarks.md).
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.join(__dirname, '../../../src');
const HOT = [
  'controller/controller.ts', 'controller/session.ts', 'controller/frame-reader.ts', 'controller/write-batcher.ts',
  'app/controller-app.ts', 'app/app.ts', 'app/packet-in.ts', 'app/end-copy-path.ts', 'app/end-copy-owner.ts', 'app/services.ts', 'app/vip-index.ts', 'app/location.ts',
  'app/nat/conntrack-mode.ts', 'app/nat/ct-commit-wire.ts', 'app/nat/flows-mode.ts', 'app/nat/flow-pair-wire.ts',
  'lb/service.ts', 'lb/conn-table.ts', 'lb/conn-key.ts', 'lb/conn-slots.ts', 'lb/conn-vips.ts', 'lb/backend.ts', 'lb/port-picker.ts', 'lb/end-linger.ts',
  'flows/packets.ts', 'flows/cookies.ts', 'flows/memory-view.ts', 'openflow/codec.ts', 'openflow/lent-memory.ts', 'openflow/messages.ts', 'openflow/oxm.ts', 'openflow/wire.ts',
];

/** The relative value imports in `text` (of source file `file`) that resolve to a barrel (a directory whose index.ts has `export *`). */
function barrelImports(file: string, text = fs.readFileSync(path.join(SRC, file), 'utf8')): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']*)'/gms)) {
    const index = path.join(SRC, path.dirname(file), m[1], 'index.ts');
    if (fs.existsSync(index) && /^export \* from/m.test(fs.readFileSync(index, 'utf8'))) found.push(m[1]);
  }
  return found;
}

describe('modules on the packet-in path', () => {
  it.each(HOT)('%s imports no barrel', (file) => {
    expect(barrelImports(file)).toEqual([]);
  });

  it('the check sees a barrel import, and not a type-only one', () => {
    // services.ts and packet-in.ts imported from '../net' before, in this form.
    const text = "import { containsIpv4 } from '../net';\nimport type { IpPrefix } from '../net';\nimport { parseIpv6 } from '../net/ipv6';\n";
    expect(barrelImports('app/services.ts', text)).toEqual(['../net']);
  });
});
