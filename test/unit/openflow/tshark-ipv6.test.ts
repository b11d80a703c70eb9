// The tshark oracle for IPv6 OXM fields (issue 16): Wireshark's OpenFlow 1.3 dissector reads every OpenFlow-basic
// IPv6 field of our encodings (match and set_field) as the field, has-mask bit, value and mask we meant. The
// messages are the ones golden-tested against ovs-ofctl (./ovs/ipv6.ts); NXM fields (ct_ipv6_*) are not dissected
// by tshark and are covered by ovs-ofctl alone; ipv6_exthdr, which OVS lacks, by tshark alone (EXTHDR_FLOW_MODS).
// Missing tshark fails the test: an oracle that is not run proves nothing.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encode } from '../../../src/openflow';
import { oxmFieldDecl } from '../../../src/openflow/oxm';
import type { Oxm, OfpMessage } from '../../../src/openflow';
import { OFPXMC_OPENFLOW_BASIC } from '../../../src/openflow/constants';
import { ofPcap } from '../../helpers/pcap';
import { IPV6_CASES } from './ovs/ipv6';

const OF_PORT = 6653;
const IPV6_FIELDS = ['ipv6_exthdr', 'ipv6_src', 'ipv6_dst', 'ipv6_flabel', 'icmpv6_type', 'icmpv6_code', 'ipv6_nd_target', 'ipv6_nd_sll', 'ipv6_nd_tll'];

interface SeenOxm { field: number; hasMask: boolean; value: string | number; mask?: string | number }

/** Every OXM tshark shows, in order: a record starts at each oxm.field; values and masks attach to the last one. */
function tsharkOxms(pcap: string): SeenOxm[][] {
  const pdml = execFileSync('tshark', ['-r', pcap, '-d', `tcp.port==${OF_PORT},openflow`, '-T', 'pdml'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return pdml.split('<packet>').slice(1).map((packet) => {
    const out: SeenOxm[] = [];
    for (const m of packet.matchAll(/<field name="openflow_v4\.oxm\.([a-z0-9_]+)"[^>]*? show="([^"]*)"/g)) {
      const [, name, show] = m;
      const last = out[out.length - 1];
      if (name === 'field') out.push({ field: Number(show), hasMask: false, value: '' });
      else if (name === 'hm') last.hasMask = show === '1';
      else if (name.startsWith('value')) last.value = fromTshark(name, show);
      else if (name.endsWith('mask')) last.mask = fromTshark(name, show);
    }
    return out;
  });
}

/**
 * tshark's text as a value: some fields it prints typed (IPv6 and MAC text, decimal numbers, 0x ethertypes),
 * others as raw bytes "fd:00:...:00" (nd_target, icmpv6 type/code, the flow label). 16 raw bytes are made IPv6 text
 * (told apart by tshark's field name) by the WHATWG URL serializer (its own RFC 5952 compression, independent of ours), 6 stay MAC text, others a number.
 */
function fromTshark(name: string, show: string): string | number {
  if (/^0x[0-9a-f]+$/.test(show) || (/^\d+$/.test(show) && name !== 'value' && name !== 'mask')) return Number(show);
  if (/^[0-9a-f]{2}(:[0-9a-f]{2})*$/.test(show)) {
    const bytes = show.split(':');
    if (bytes.length === 6) return show;
    if (bytes.length === 16) {
      const groups = Array.from({ length: 8 }, (_, i) => bytes[2 * i] + bytes[2 * i + 1]);
      return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
    }
    return parseInt(bytes.join(''), 16);
  }
  return show;
}

function oxmsOf(m: OfpMessage): Oxm[] {
  if (m.type !== 'flow_mod') return [];
  const setFields = m.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : []))
    .flatMap((a) => (a.type === 'set_field' ? [a.field] : []));
  return [...m.match, ...setFields];
}

/**
 * ipv6_exthdr (OXM 39, the IPv6 extension-header pseudo-field) is in no ovs-ofctl case: OVS has no such field
 * (`ovs-ofctl: unknown keyword ipv6_exthdr`) and vadc matches on none. So tshark is its only oracle besides the Ryu
 * fixtures: flow_mods encoded by vadc alone, one matching hop-by-hop and destination options present (0x48) under
 * the mask HOP|DEST|ROUTER|UNSEQ|NOEXT (0x1e9), one exactly "no extension headers" (NOEXT, 0x1; OpenFlow 1.3 7.2.3.8).
 */
const exthdrFlowMod = (priority: number, exthdr: Oxm): OfpMessage => ({
  ...(IPV6_CASES[0].message as Extract<OfpMessage, { type: 'flow_mod' }>),
  priority, match: [{ field: 'eth_type', value: 0x86dd }, exthdr], instructions: [],
});
const EXTHDR_FLOW_MODS = [
  exthdrFlowMod(310, { field: 'ipv6_exthdr', value: 0x48, mask: 0x1e9 }),
  exthdrFlowMod(311, { field: 'ipv6_exthdr', value: 0x1 }),
];

it('tshark reads every IPv6 OXM field of our encodings as the value and mask we meant', () => {
  try { execFileSync('tshark', ['--version'], { stdio: 'ignore' }); } catch {
    throw new Error("the tshark oracle needs 'tshark' on PATH (Debian: apt-get install tshark)");
  }
  const messages = [...IPV6_CASES.map((c) => c.message), ...EXTHDR_FLOW_MODS];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-of-tshark6-'));
  try {
    const pcap = path.join(dir, 'ipv6.pcap');
    fs.writeFileSync(pcap, ofPcap(messages.map((m) => encode(m)), { port: OF_PORT, toSwitch: true }));
    const seen = tsharkOxms(pcap);
    expect(seen).toHaveLength(messages.length);
    const covered = new Set<string>();
    messages.forEach((m, i) => {
      const want = oxmsOf(m).map((o) => {
        if (o.field === 'raw') throw new Error(`raw OXM in ${JSON.stringify(m)}`);
        const decl = oxmFieldDecl(o.field)!;
        const hasMask = o.mask !== undefined;
        // NXM fields (ct_state, ct_ipv6_*): tshark reads the header only.
        if (decl.oxmClass !== OFPXMC_OPENFLOW_BASIC) return { field: decl.field, hasMask, value: '' };
        if (IPV6_FIELDS.includes(o.field)) covered.add(o.field + (hasMask ? '/mask' : ''));
        return { field: decl.field, hasMask, value: o.value, ...(hasMask ? { mask: o.mask } : {}) };
      });
      // tshark also lists the OXMs of set_field actions, after the match's, in the order encoded.
      expect(seen[i]).toEqual(want);
    });
    expect([...covered].sort()).toEqual([...IPV6_FIELDS, 'ipv6_exthdr/mask', 'ipv6_src/mask', 'ipv6_flabel/mask'].sort());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
