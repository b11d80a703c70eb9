// The end-to-end suites run once per datapath NAT mode: the *-conntrack.e2e.ts files import
// ./conntrack-mode (which selects it) and then the suite, whose harnesses put `datapath.nat` into the
// config they start vadc with.

export type NatMode = 'flows' | 'conntrack';

/** The NAT mode the current suite runs vadc in (flows unless a conntrack variant file selected it). */
export function e2eNatMode(): NatMode {
  return process.env.VADC_E2E_NAT === 'conntrack' ? 'conntrack' : 'flows';
}

/** Run by ./conntrack-mode on import: the suite loaded after it runs in conntrack mode. */
export function selectConntrackMode(): void {
  process.env.VADC_E2E_NAT = 'conntrack';
  // Jest may run the next file in this process: leave the default behind.
  afterAll(() => {
    delete process.env.VADC_E2E_NAT;
  });
}

/** The config's datapath line for a lab (ovs-appctl reaches the lab's private ovs-vswitchd). */
export function datapathYaml(vswitchdControlSocket: string): string {
  return `datapath: { nat: ${e2eNatMode()}, appctl: ${vswitchdControlSocket} }`;
}

/** For a daemon built in a unit test: `datapath.nat: auto` finds no ovs-vswitchd (the test reads nothing of the host's). */
export const noVswitchd = (): { reachable: boolean; detail: string } => ({ reachable: false, detail: 'a unit test: no ovs-vswitchd' });
