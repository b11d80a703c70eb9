import { readFileSync } from 'node:fs';
import { connectionTraces, multipartRequestTimes, readPcapng, splitTraces } from './bench/lib/first-packet-trace';
const [file, port, net] = process.argv.slice(2);
const packets = readPcapng(readFileSync(file));
const traces = connectionTraces(packets, { clientIface: 'perf-cl1', backendIface: 'perf-vm1', controllerPort: Number(port), clientIp: `${net}.101`, backendIp: `${net}.11`, paths: { [`${net}.100`]: 'vip', [`${net}.99`]: 'static' } });
const s = splitTraces(traces, { statsRequests: multipartRequestTimes(packets, Number(port)), slowest: Number(process.argv[5] ?? 10) });
const f = (d: any) => (d ? `${d.p50.toFixed(0)} / ${d.p99.toFixed(0)} / ${d.max.toFixed(0)}` : '-');
for (const [path, p] of Object.entries(s.byPath)) {
  console.log(path, `n=${p.connections} incomplete=${p.incomplete} retx=${p.retransmitted}`, 'total', f(p.total), 'toBackend', f(p.toBackend), 'ovsIn', f(p.ovsIn), 'vadc', f(p.vadc), 'ovsOut', f(p.ovsOut), 'backend', f(p.backend), 'back', f(p.back));
}
for (const c of s.slowest) console.log(`  ${c.totalUs.toFixed(0)} = in ${c.ovsInUs.toFixed(0)} + vadc ${c.vadcUs.toFixed(0)} + out ${c.ovsOutUs.toFixed(0)} + backend ${c.backendUs.toFixed(0)} + back ${c.backUs.toFixed(0)}; ${c.sinceLastStatsRequestMs.toFixed(1)} ms after stats`);
