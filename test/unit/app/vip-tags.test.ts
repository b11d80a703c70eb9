// The tag of a configured VIP comes from one helper (configuredVipTag, src/flows/builders.ts): the cookies of the VIP's
// flows and the sweep of VIP flows no configured VIP has (src/app/sweeps.ts) agree however the VIP is written.
import { strayVipFlows } from '../../../src/app/sweeps';
import type { ServiceState } from '../../../src/app/services';
import { buildVipFlows, configuredVipTag, FlowBuildError } from '../../../src/flows/builders';
import { parseCookie } from '../../../src/flows/cookies';

/** Services as the sweep reads them: only their VIPs. */
const serving = (...vips: [string, string?][]): ServiceState[] => vips.map(([vip, vip6]) => ({ config: { vip, vip6 } }) as unknown as ServiceState);

describe('the tag of a configured VIP', () => {
  it('is the same for every way of writing the VIP, and the one its flows carry', () => {
    for (const [canonical, written] of [['10.0.0.100', '10.0.0.100/32'], ['fd00::100', 'fd00:0::0100/128'], ['10.2.0.0/16', '10.2.0.0/16']]) {
      expect(configuredVipTag(written)).toBe(configuredVipTag(canonical));
      for (const flow of buildVipFlows(written)) expect(parseCookie(flow.cookie)).toEqual({ kind: 'vip', serviceId: 0, connectionId: configuredVipTag(canonical) });
    }
    expect(configuredVipTag('10.0.0.100')).not.toBe(configuredVipTag('10.0.0.101'));
  });

  it("keeps the flows of VIPs configured in another spelling through the sweep, and deletes a lost VIP's", () => {
    const lost = buildVipFlows('10.0.0.200')[0].cookie;
    const onSwitch = [...buildVipFlows('10.0.0.100'), ...buildVipFlows('fd00::100'), ...buildVipFlows('10.0.0.200')].map((f) => f.cookie);
    const deletes = strayVipFlows(serving(['10.0.0.100/32', 'fd00:0::0100']), onSwitch);
    expect(deletes.map((d) => d.cookie)).toEqual([lost]);
    expect(strayVipFlows(serving(['10.0.0.100', 'fd00::100'], ['10.0.0.200/32']), onSwitch)).toEqual([]);
  });

  it("refuses a VIP the flows could not be built for, with the builders' error", () => {
    expect(() => configuredVipTag('10.0.0.300')).toThrow(FlowBuildError);
    expect(() => configuredVipTag('0.0.0.0/0')).toThrow(/length 0/);
  });
});
