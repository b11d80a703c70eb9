// The README's main job (`npm run demo` = `vadc demo`): the embedded lab configuration served by vadc, real
// HTTP requests from the lab's clients through the VIP, in both NAT modes.
import { runDemo } from '../../src/demo/run-demo';
import { silentLogger } from '../../src/util/logger';

describe('vadc demo on real OVS', () => {
  it.each(['flows', 'conntrack'] as const)('NAT by %s: every request answered, rr over both VMs and both software ports', async (nat) => {
    const lines: string[] = [];
    const result = await runDemo({ requests: 8, nat, logger: silentLogger(), print: (line) => lines.push(line) });
    expect(result.failed).toBe(0);
    expect(result.spread).toEqual({ 'vm1 8080': 2, 'vm1 8081': 2, 'vm2 8080': 2, 'vm2 8081': 2 });
    expect(result.decisions).toBe(8);
    expect(result.nat).toBe(nat);
    if (nat === 'conntrack') {
      // One packet-in per connection (plus ARP for the VIP), no per-connection flow-mod.
      expect(result.packetIns).toBeLessThanOrEqual(8 + 2);
      expect(lines.join('\n')).toContain('(0 per-connection flows)');
    } else {
      expect(result.perConnectionState).toBeGreaterThan(0);
    }
    expect(lines).toContain('done.');
  }, 180_000);
});
