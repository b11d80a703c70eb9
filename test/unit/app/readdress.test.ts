// A backend that keeps its name but gets another address or ports (a tagged VM whose external_ids:ip
// changed): new connections go to the new address, in every NAT mode.
import { AppHarness, delivered, fromClient, NAT_MODES } from '../../helpers/app-harness';

function web(vm1Ip: string, port = 8080): string {
  return `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    backends:
      - { vnic: v-vm1, ip: ${vm1Ip}, ports: [${port}] }
`;
}

describe.each(NAT_MODES)('a re-addressed backend ($name)', (mode) => {
  it('takes new connections at its new address and port', () => {
    const h = new AppHarness(mode, web('10.0.0.11'));
    expect(delivered(h.send(fromClient(41000)).outcomes).fields).toMatchObject({ ipv4_dst: '10.0.0.11', tcp_dst: 8080 });
    h.install(h.app.setServices(AppHarness.config(mode, web('10.0.0.21', 9090)).services, h.now));
    expect(delivered(h.send(fromClient(41001)).outcomes).fields).toMatchObject({ ipv4_dst: '10.0.0.21', tcp_dst: 9090 });
  });
});
