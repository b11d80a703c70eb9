// Where the tracker is read, its -m listing tells a connection reset before its backend answered (both sides
// TIME_WAIT, the client's SYN scaled and the backend's side never sent one) from one that worked and was reset, or
// closed with FINs (tcpEnd, src/flows/conntrack-dump.ts). The outlier detector counts the first a refusal (once: not
// again when vadc saw its RST copy), the second a success, and a reset the listing cannot tell (a client that does
// not scale) neither. Controller-decided and datapath-decided connections alike.
import type { TcpSides } from '../../../src/flows/conntrack-dump';
import { ipv4ToUint32 } from '../../../src/net';
import { AppHarness, defaultServices, delivered, fromBackend, fromClient, NAT_MODES, VMS, type VmName } from '../../helpers/app-harness';

const RST_ACK = 0x14;
const CONNTRACK = NAT_MODES[1];

/** The sides of the real OVS 3.3.9 listing lines of test/unit/flows/conntrack-dump.test.ts, by how the connection ended. */
const SIDES = {
  refused: { orig: 'TIME_WAIT', reply: 'TIME_WAIT', origScales: true, replyScales: false },
  resetAfterAnswer: { orig: 'TIME_WAIT', reply: 'TIME_WAIT', origScales: true, replyScales: true },
  resetUnscaled: { orig: 'TIME_WAIT', reply: 'TIME_WAIT', origScales: false, replyScales: false },
  finished: { orig: 'FIN_WAIT_2', reply: 'FIN_WAIT_2', origScales: true, replyScales: true },
} satisfies Record<string, TcpSides>;

const VM2 = ipv4ToUint32(VMS['v-vm2'].ip);
const ejections = (h: AppHarness) => h.events.filter((e) => e.kind === 'outlier_ejected');

/** A statistics poll: the tracker lists every connection closed, vm2's ended as `vm2`, the others' with FINs. */
function poll(h: AppHarness, vm2: TcpSides): void {
  const entries = h.trackerListing('TIME_WAIT').map((e) => ({ ...e, sides: e.reply.src === VM2 ? vm2 : SIDES.finished }));
  h.install(h.app.applyAccounting({ source: 'tracker', entries }, h.now));
}

/** New connections until `n` went to vm2; `copied`: vm2 answers each with a RST that reaches vadc (else the copy is lost). */
function connect(h: AppHarness, from: number, n: number, copied: boolean): number {
  let clientPort = from;
  for (let toVm2 = 0; toVm2 < n; clientPort++) {
    if (clientPort >= from + 100) throw new Error(`vm2 took ${toVm2} of 100 connections, not ${n}: ejected already?`);
    h.now += 50;
    const out = delivered(h.send(fromClient(clientPort)).outcomes);
    if (out.port !== VMS['v-vm2'].ofport) continue;
    toVm2++;
    if (copied) h.send(fromBackend('v-vm2' as VmName, clientPort, { flags: RST_ACK, seq: 0, backendPort: Number(out.fields.tcp_dst) }), VMS['v-vm2'].ofport);
  }
  return clientPort;
}

describe.each([
  ['controller decisions', defaultServices('rr')],
  ['datapath decisions', defaultServices('rr', '    decisions: datapath')],
])('conntrack mode, %s: resets read from the tracker', (_name, yaml) => {
  it('refusals whose RST copies were lost eject the VM at the reading that lists them reset unanswered', () => {
    const h = new AppHarness(CONNTRACK, yaml);
    connect(h, 41000, 3, false);
    expect(h.endCopies).toBe(0);
    expect(ejections(h)).toEqual([]);
    poll(h, SIDES.refused);
    expect(ejections(h)).toEqual([expect.objectContaining({
      backend: 'v-vm2', message: expect.stringMatching(/3 consecutive failures; last: refused: the tracker lists it reset before the backend answered its SYN/),
    })]);
  });

  it.each([['reset after the backend answered', SIDES.resetAfterAnswer], ['closed with FINs', SIDES.finished]])('connections %s are successes: no ejection', (_how, sides) => {
    const h = new AppHarness(CONNTRACK, yaml);
    let from = connect(h, 41000, 2, true);
    poll(h, SIDES.refused); // the two refusals, judged (and not counted again)
    from = connect(h, from, 3, false);
    poll(h, sides); // successes: the run of failures starts again
    connect(h, from, 2, true);
    poll(h, SIDES.refused);
    expect(ejections(h)).toEqual([]);
  });

  it('a refusal whose RST copy came is counted once, not again when the listing shows it', () => {
    const h = new AppHarness(CONNTRACK, yaml);
    const from = connect(h, 41000, 2, true);
    poll(h, SIDES.refused);
    poll(h, SIDES.refused);
    expect(ejections(h)).toEqual([]);
    connect(h, from, 1, false);
    poll(h, SIDES.refused);
    expect(ejections(h)).toEqual([expect.objectContaining({ backend: 'v-vm2', message: expect.stringMatching(/^port 8080 ejected .*: 3 consecutive failures/) })]);
  });

  it("a reset the listing cannot tell (the client's SYN did not scale) is neither: it does not break a run of refusals", () => {
    const h = new AppHarness(CONNTRACK, yaml);
    let from = connect(h, 41000, 2, true);
    poll(h, SIDES.refused);
    from = connect(h, from, 3, false);
    poll(h, SIDES.resetUnscaled);
    expect(ejections(h)).toEqual([]);
    connect(h, from, 1, true);
    poll(h, SIDES.refused);
    expect(ejections(h)).toEqual([expect.objectContaining({ backend: 'v-vm2', message: expect.stringMatching(/3 consecutive failures; last: (reset by the backend|the backend refused)/) })]);
  });
});
