// The one service the reading benches (flows-reading, tracker-reading) load: VIP 10.0.0.100:80, rr over six VMs
// (10.0.0.11-16 on v-vm11..v-vm16, software port 8080), with the datapath section each mode needs.

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
