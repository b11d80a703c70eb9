// The one service the reading benches (flows-reading, tracker-reading) load: VIP 10.0.0.100:80, rr over six VMs
// (10.0.0.11-16 on v-vm11..v-vm16, software port 8080), with the datapath section each mode needs, and the tracker
// listing of its connections (tracker-reading, poll-block).
import { uint32ToIpv4 } from '../../src/net';

export const READING_VMS = [11, 12, 13, 14, 15, 16];

/** VM n's MAC address (its last byte is n). */
export const readingVmMac = (n: number): string => `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`;

/** The configuration's YAML, with `datapath` as a YAML flow mapping, e.g. `{ nat: flows }`. */
export function readingServiceYaml(datapath: string): string {
  return `
datapath: ${datapath}
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    backends:
${READING_VMS.map((n) => `      - { vnic: v-vm${n}, ip: 10.0.0.${n}, ports: [8080], mac: "${readingVmMac(n)}" }`).join('\n')}
`;
}

/** A side's state in a -m listing for `state` without -m: a connection closed with FINs is FIN_WAIT_2 on both sides. */
const side = (state: string): string => (state === 'TIME_WAIT' ? 'FIN_WAIT_2' : state);

/**
 * The tracker's listing of `n` connections of the service (clients 10.1.x.y, ports 1024-2047, the VMs in turn), one
 * line each as `ovs-appctl dpctl/dump-conntrack` prints it, in `state`; `mark`: the service's ct_mark; `form` m: as vadc asks for it (-m).
 */
export function readingTrackerListing(n: number, zone: number, mark: number, state = 'ESTABLISHED', form: 'plain' | 'm' = 'plain'): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const client = uint32ToIpv4((0x0a010000 + (i >>> 10)) >>> 0);
    const port = 1024 + (i & 1023);
    lines.push(`tcp,orig=(src=${client},dst=10.0.0.100,sport=${port},dport=80),reply=(src=10.0.0.${READING_VMS[i % READING_VMS.length]},dst=${client},sport=8080,dport=${port}),`
      + (form === 'plain' ? `zone=${zone},mark=${mark},protoinfo=(state=${state})`
        // -m (what vadc asks for): id (0: the userspace tracker sets none) and status, and each side's state and window scaling (as OVS 3.3.9 prints them;
        // a connection closed with FINs, TIME_WAIT without -m, is FIN_WAIT_2 on both sides).
        : `id=0,zone=${zone},status=0,mark=${mark},protoinfo=(state_orig=${side(state)},state_reply=${side(state)},wscale_orig=7,wscale_reply=7,flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE)`));
  }
  return `${lines.join('\n')}\n`;
}
