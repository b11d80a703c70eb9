import { udpPayload } from '../../../src/flows/udp-payload';
import { describeReport, fuzz, fuzzIterations, mutateBytes } from '../../helpers/fuzz';
import { ipv4Frame, ipv6Frame } from '../../helpers/frames';

const MACS = { srcMac: '52:54:00:00:01:01', dstMac: '02:00:0a:00:00:64' };
const v4 = (payload: string) => ipv4Frame({ ...MACS, srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'udp', srcPort: 4000, dstPort: 7777, payload: Buffer.from(payload, 'hex') });
const v6 = (payload: string) => ipv6Frame({ ...MACS, srcIp: 'fd00::101', dstIp: 'fd00::100', proto: 'udp', srcPort: 4000, dstPort: 7777, payload: Buffer.from(payload, 'hex') });
const show = (p: ReturnType<typeof udpPayload>) => p && { payload: p.payload.toString('hex'), length: p.length };

describe('udpPayload', () => {
  it('finds the payload of an IPv4 and an IPv6 datagram', () => {
    expect(show(udpPayload(v4('c00201')))).toEqual({ payload: 'c00201', length: 3 });
    expect(show(udpPayload(v6('c00201')))).toEqual({ payload: 'c00201', length: 3 });
  });

  it('never takes Ethernet padding for payload', () => {
    const padded = Buffer.concat([v4('01'), Buffer.alloc(17)]); // a 60-byte minimum frame
    expect(show(udpPayload(padded))).toEqual({ payload: '01', length: 1 });
  });

  it('gives what a cut-short frame carries with the length the header says, and -1 for a UDP length under 8', () => {
    const frame = v4('0102030405060708');
    expect(show(udpPayload(frame.subarray(0, frame.length - 3)))).toEqual({ payload: '0102030405', length: 8 });
    const broken = Buffer.from(frame);
    broken.writeUInt16BE(4, 14 + 20 + 4);
    expect(show(udpPayload(broken))).toEqual({ payload: '', length: -1 });
    expect(udpPayload(ipv4Frame({ ...MACS, srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'tcp' }))).toBeNull();
  });

  it('returns a payload within the frame, or null, for mutated frames (fuzz)', () => {
    const corpus = [v4('c0020000'), v6('0102'), v4(''), Buffer.concat([v4('01'), Buffer.alloc(17)])];
    const report = fuzz({
      iterations: fuzzIterations(20_000),
      input: (r, i) => mutateBytes(r, corpus[i % corpus.length], corpus),
      check: (frame) => {
        const p = udpPayload(frame);
        if (p === null) return 'null';
        if (p.payload.length > frame.length || (p.length >= 0 && p.payload.length > p.length)) throw new Error('payload beyond the frame or the datagram');
        return p.length < 0 ? 'broken header' : p.payload.length < p.length ? 'cut short' : 'whole';
      },
    });
    console.log(describeReport('udpPayload', report));
    expect(report.outcomes.get('whole')).toBeGreaterThan(0);
  });
});

describe('udpPayload at the edges of the UDP header (issue 18)', () => {
  it('an empty datagram (length 8) has an empty payload; a header cut at 7 bytes or a length of 7 gives -1', () => {
    const empty = v4('');
    expect(show(udpPayload(empty))).toEqual({ payload: '', length: 0 });
    const l4 = 14 + 20;
    expect(show(udpPayload(empty.subarray(0, l4 + 8)))).toEqual({ payload: '', length: 0 }); // the header whole, exactly
    expect(show(udpPayload(empty.subarray(0, l4 + 7)))).toEqual({ payload: '', length: -1 });
    const seven = Buffer.from(v4('aabb'));
    seven.writeUInt16BE(7, l4 + 4);
    expect(show(udpPayload(seven))).toEqual({ payload: '', length: -1 });
    const eight = Buffer.from(v4('aabb'));
    eight.writeUInt16BE(8, l4 + 4); // the header says no payload: the frame's two bytes past it are not payload
    expect(show(udpPayload(eight))).toEqual({ payload: '', length: 0 });
  });
});
