import { formatDpid } from '../../../src/openflow/dpid';

describe('formatDpid', () => {
  it('prints a datapath id as ovs-ofctl does: 16 lower-case hex digits, zero-padded', () => {
    expect(formatDpid(0x1an)).toBe('000000000000001a');
    expect(formatDpid(0xfedcba9876543210n)).toBe('fedcba9876543210');
    expect(formatDpid(0n)).toBe('0000000000000000');
  });

  it('says the switch is still handshaking when it has not told its id', () => {
    expect(formatDpid(undefined)).toBe('(handshaking)');
  });
});
