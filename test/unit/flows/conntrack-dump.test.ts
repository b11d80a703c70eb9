// parseConntrackDump against real `ovs-appctl dpctl/dump-conntrack` lines captured from OVS 3.1 (userspace datapath).
import { isClosing, isEstablished, parseConntrackDump, tcpEnd, type ConntrackEntry } from '../../../src/flows/conntrack-dump';
import { ipv4ToUint32 } from '../../../src/net';
import { ipv6PairWords } from '../../../src/net/ipv6';
import { clientFold6, vipFold6 } from '../../../src/lb/conn-key';

const TIME_WAIT = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39646,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39646),'
  + 'zone=2780,mark=3429564418,protoinfo=(state=TIME_WAIT)';
const UDP = 'udp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=57158,dport=53),reply=(src=10.0.0.11,dst=10.0.0.101,sport=5353,dport=57158),'
  + 'zone=2780,mark=2837643266';
const ESTABLISHED = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39644,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39644),'
  + 'zone=2780,mark=3429564418,protoinfo=(state=ESTABLISHED)';
/** `dpctl/dump-conntrack -s`: a timeout before the mark. */
const TIME_WAIT_S = TIME_WAIT.replace(',mark=', ',timeout=29,mark=');
const UDP_S = UDP.replace(',mark=', ',timeout=29,mark=');
const ESTABLISHED_S = ESTABLISHED.replace(',mark=', ',timeout=29,mark=');
/** `dpctl/dump-conntrack -m`: id, status, and per-direction TCP state instead of the short state. */
const FIN_WAIT_M = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39646,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39646),'
  + 'id=0,zone=2780,status=0,mark=3429564418,protoinfo=(state_orig=FIN_WAIT_2,state_reply=FIN_WAIT_2,wscale_orig=10,wscale_reply=10,'
  + 'flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE)';
const ICMP = 'icmp,orig=(src=10.0.0.101,dst=10.0.0.100,id=4711,type=8,code=0),reply=(src=10.0.0.100,dst=10.0.0.101,id=4711,type=0,code=0),zone=2780';

const CLIENT = ipv4ToUint32('10.0.0.101');
const VIP = ipv4ToUint32('10.0.0.100');
const BACKEND = ipv4ToUint32('10.0.0.11');

const tcpEntry = (sport: number, state: string | undefined): ConntrackEntry => ({
  proto: 'tcp',
  orig: { src: CLIENT, dst: VIP, sport, dport: 80 },
  reply: { src: BACKEND, dst: CLIENT, sport: 8080, dport: sport },
  zone: 2780,
  mark: 3429564418,
  ...(state !== undefined ? { state } : {}),
});
const EXPECTED_TIME_WAIT = tcpEntry(39646, 'TIME_WAIT');
const EXPECTED_ESTABLISHED = tcpEntry(39644, 'ESTABLISHED');
const EXPECTED_UDP: ConntrackEntry = {
  proto: 'udp',
  orig: { src: CLIENT, dst: VIP, sport: 57158, dport: 53 },
  reply: { src: BACKEND, dst: CLIENT, sport: 5353, dport: 57158 },
  zone: 2780,
  mark: 2837643266,
};

describe('parseConntrackDump', () => {
  it('reads every field of a plain dump', () => {
    const dump = parseConntrackDump([TIME_WAIT, UDP, ESTABLISHED].join('\n') + '\n');
    expect(dump.malformed).toEqual([]);
    expect(dump.entries).toEqual([EXPECTED_TIME_WAIT, EXPECTED_UDP, EXPECTED_ESTABLISHED]);
    // toEqual ignores undefined properties: UDP really has no state key.
    expect('state' in dump.entries[1]).toBe(false);
    // The expectations are right in themselves: addresses as uint32, the mark as vadc's service<<16|client port.
    expect(dump.entries[0].orig.src).toBe(0x0a000065);
    expect(dump.entries[0].reply.src).toBe(0x0a00000b);
    expect(dump.entries[0].mark).toBe(((0xcc6b << 16) | 2) >>> 0);
    expect(dump.entries[1].mark).toBe(((0xa923 << 16) | 2) >>> 0);
  });

  it('classifies established and closing connections', () => {
    const [timeWait, udp, established] = parseConntrackDump([TIME_WAIT, UDP, ESTABLISHED].join('\n')).entries;
    expect([isEstablished(timeWait), isClosing(timeWait)]).toEqual([false, true]);
    expect([isEstablished(udp), isClosing(udp)]).toEqual([true, false]);
    expect([isEstablished(established), isClosing(established)]).toEqual([true, false]);
  });

  it('reads the -s form (timeout before the mark) the same way', () => {
    const dump = parseConntrackDump([TIME_WAIT_S, UDP_S, ESTABLISHED_S].join('\n'));
    expect(TIME_WAIT_S).toContain(',zone=2780,timeout=29,mark=3429564418,');
    expect(dump.malformed).toEqual([]);
    expect(dump.entries).toEqual([EXPECTED_TIME_WAIT, EXPECTED_UDP, EXPECTED_ESTABLISHED]);
    expect(dump.entries.map((e) => [isEstablished(e), isClosing(e)])).toEqual([[false, true], [true, false], [true, false]]);
  });

  it('reads the -m form: the short state OVS would print (the later side, FIN_WAIT_2 as TIME_WAIT) and each side', () => {
    const dump = parseConntrackDump(FIN_WAIT_M);
    expect(dump.malformed).toEqual([]);
    expect(dump.entries).toEqual([{
      ...tcpEntry(39646, 'TIME_WAIT'), sides: { orig: 'FIN_WAIT_2', reply: 'FIN_WAIT_2', origScales: true, replyScales: true },
    }]);
    expect(isClosing(dump.entries[0])).toBe(true);
    const opening = parseConntrackDump(FIN_WAIT_M.replace('state_orig=FIN_WAIT_2,state_reply=FIN_WAIT_2', 'state_orig=ESTABLISHED,state_reply=SYN_SENT')).entries[0];
    expect([opening.state, isEstablished(opening)]).toEqual(['ESTABLISHED', true]);
    const synSent = parseConntrackDump(FIN_WAIT_M.replace('state_orig=FIN_WAIT_2,state_reply=FIN_WAIT_2', 'state_orig=SYN_SENT,state_reply=CLOSED')).entries[0];
    expect([synSent.state, isEstablished(synSent), isClosing(synSent)]).toEqual(['SYN_SENT', false, false]);
  });

  describe('tcpEnd: how a closed connection ended, from real -m lines (OVS 3.3.9 and 3.1.0 print the same, userspace datapath)', () => {
    const line = (dport: number, protoinfo: string) => `tcp,orig=(src=10.25.147.101,dst=10.25.147.11,sport=54658,dport=${dport}),`
      + `reply=(src=10.25.147.11,dst=10.25.147.101,sport=${dport},dport=54658),id=0,zone=9,status=0,protoinfo=(${protoinfo})`;
    const end = (text: string) => {
      const [entry] = parseConntrackDump(text).entries;
      expect([entry.state, isClosing(entry)]).toEqual(['TIME_WAIT', true]); // all alike without -m
      return tcpEnd(entry);
    };
    it.each([
      ['a SYN answered by RST', 'refused', 'state_orig=TIME_WAIT,state_reply=TIME_WAIT,wscale_orig=10,wscale_reply=0,flags_orig=WINDOW_SCALE,flags_reply=0'],
      ['a FIN close', 'worked', 'state_orig=FIN_WAIT_2,state_reply=FIN_WAIT_2,wscale_orig=10,wscale_reply=10,flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE'],
      ['a reset by either side after the backend accepted', 'worked', 'state_orig=TIME_WAIT,state_reply=TIME_WAIT,wscale_orig=10,wscale_reply=10,flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE'],
      ['a client without window scaling: a FIN close', 'worked', 'state_orig=FIN_WAIT_2,state_reply=FIN_WAIT_2,flags_orig=0,flags_reply=0'],
      ['a client without window scaling: a refusal or a reset after accept (printed alike)', 'unknown', 'state_orig=TIME_WAIT,state_reply=TIME_WAIT,flags_orig=0,flags_reply=0'],
    ])('%s: %s', (_case, expected, protoinfo) => {
      expect(end(line(8080, protoinfo))).toBe(expected);
    });

    it('a listing without -m reads every closed connection as worked but CLOSED (the kernel tracker\'s reset): unknown', () => {
      expect(tcpEnd(parseConntrackDump(TIME_WAIT).entries[0])).toBe('worked');
      expect(tcpEnd(parseConntrackDump(TIME_WAIT.replace('TIME_WAIT', 'CLOSED')).entries[0])).toBe('unknown');
    });

    it("the kernel's tracker (status flags named; one state for both sides, TIME_WAIT after FINs) keeps that rule (a line made from ct-dpif.c's format: no kernel datapath here)", () => {
      const kernel = line(8080, 'state_orig=TIME_WAIT,state_reply=TIME_WAIT,flags_orig=WINDOW_SCALE|SACK_PERM,flags_reply=SACK_PERM').replace('status=0', 'status=CONFIRMED|SEEN_REPLY|ASSURED');
      const [entry] = parseConntrackDump(kernel).entries;
      expect(entry.kernelStatus).toBe(true);
      expect(tcpEnd(entry)).toBe('worked');
    });
  });

  it('skips other protocols (icmp) without calling them malformed', () => {
    const dump = parseConntrackDump([ICMP, UDP, ICMP].join('\n'));
    expect(dump.entries).toEqual([EXPECTED_UDP]);
    expect(dump.malformed).toEqual([]);
  });

  it('reads a mark printed in hex as an unsigned number', () => {
    const dump = parseConntrackDump(TIME_WAIT.replace('mark=3429564418', 'mark=0xcc6b0002'));
    expect(dump.malformed).toEqual([]);
    expect(dump.entries).toEqual([EXPECTED_TIME_WAIT]);
    expect(dump.entries[0].mark).toBe(3429564418);
    expect(dump.entries[0].mark).toBeGreaterThan(0x7fffffff);
  });

  it('reports malformed tcp lines with their 1-based line number and a reason, and still parses the lines around them', () => {
    const noReply = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39650,dport=80),zone=2780,mark=3429564418,protoinfo=(state=ESTABLISHED)';
    const badIp = TIME_WAIT.replace('src=10.0.0.11,', 'src=10.0.0.999,');
    const badPort = ESTABLISHED.replace('sport=39644', 'sport=70000');
    const text = [TIME_WAIT, noReply, UDP, badIp, '', badPort, ESTABLISHED, ICMP].join('\n');
    const dump = parseConntrackDump(text);
    expect(dump.entries).toEqual([EXPECTED_TIME_WAIT, EXPECTED_UDP, EXPECTED_ESTABLISHED]);
    expect(dump.malformed).toEqual([
      { line: 2, text: noReply, reason: expect.stringMatching(/reply/) },
      { line: 4, text: badIp, reason: expect.stringMatching(/^reply: .*10\.0\.0\.999/) },
      { line: 6, text: badPort, reason: expect.stringMatching(/^orig: .*port/) },
    ]);
    for (const m of dump.malformed) expect(m.reason.length).toBeGreaterThan(0);
  });

  it('reads a tuple whose fields come in another order the same as OVS\'s usual order', () => {
    const reordered = ESTABLISHED.replace('(src=10.0.0.101,dst=10.0.0.100,sport=39644,dport=80)', '(dport=80,sport=39644,dst=10.0.0.100,src=10.0.0.101)');
    expect(parseConntrackDump(reordered)).toEqual({ entries: [EXPECTED_ESTABLISHED], malformed: [] });
  });

  it('gives no entries for empty input', () => {
    expect(parseConntrackDump('')).toEqual({ entries: [], malformed: [] });
    expect(parseConntrackDump('\n  \n\n')).toEqual({ entries: [], malformed: [] });
  });

  it('tolerates CRLF line ends and surrounding blanks', () => {
    const dump = parseConntrackDump(`  ${TIME_WAIT}  \r\n${UDP}\r\n`);
    expect(dump.malformed).toEqual([]);
    expect(dump.entries).toEqual([EXPECTED_TIME_WAIT, EXPECTED_UDP]);
  });
});

// Each tuple check and classification at its edge (issue 18: the mutants of conntrack-dump.ts that survived).
describe('conntrack dump at its edges', () => {
  const line = (orig: string, rest = 'zone=2780,mark=5') => `tcp,orig=(${orig}),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=1),${rest}`;
  const reasonOf = (orig: string) => parseConntrackDump(line(orig)).malformed.map((m) => m.reason);

  it('refuses a tuple without src or dst, and ports that are not integers 0..65535, naming the tuple', () => {
    expect(reasonOf('dst=10.0.0.100,sport=1,dport=80')).toEqual(['orig: no src/dst']);
    expect(reasonOf('src=10.0.0.101,sport=1,dport=80')).toEqual(['orig: no src/dst']);
    for (const ports of ['sport=65536,dport=80', 'sport=1,dport=65536', 'sport=-1,dport=80', 'sport=1,dport=-1', 'sport=x,dport=80', 'sport=1,dport=1.5']) {
      expect([ports, reasonOf(`src=10.0.0.101,dst=10.0.0.100,${ports}`)]).toEqual([ports, ['orig: bad ports']]);
    }
    const edges = parseConntrackDump(line('src=10.0.0.101,dst=10.0.0.100,sport=0,dport=65535'));
    expect([edges.malformed, edges.entries.map((e) => [e.orig.sport, e.orig.dport])]).toEqual([[], [[0, 65535]]]);
    const reversed = parseConntrackDump(line('src=10.0.0.101,dst=10.0.0.100,sport=65535,dport=0'));
    expect(reversed.entries.map((e) => [e.orig.sport, e.orig.dport])).toEqual([[65535, 0]]);
  });

  it('reads IPv6 tuples as their words and folds, and refuses a tuple mixing the families', () => {
    const v6 = 'tcp,orig=(src=fd00::101,dst=fd00::1:100,sport=40000,dport=80),reply=(src=fd00::11,dst=fd00::101,sport=8080,dport=40000),zone=7,mark=9';
    const dump = parseConntrackDump(v6);
    expect(dump.malformed).toEqual([]);
    const [entry] = dump.entries;
    expect([...ipv6PairWords(entry.orig.ip6!)]).toEqual([0xfd000000, 0, 0, 0x101, 0xfd000000, 0, 0, 0x10100]);
    expect([...ipv6PairWords(entry.reply.ip6!)]).toEqual([0xfd000000, 0, 0, 0x11, 0xfd000000, 0, 0, 0x101]);
    expect([entry.orig.src, entry.orig.dst, entry.orig.sport, entry.orig.dport, entry.zone, entry.mark])
      .toEqual([clientFold6(entry.orig.ip6!), vipFold6(entry.orig.ip6!), 40000, 80, 7, 9]);
    expect(reasonOf('src=10.0.0.101,dst=fd00::100,sport=1,dport=80')).toEqual(['orig: not an IPv6 pair: 10.0.0.101 / fd00::100']);
    expect(reasonOf('src=fd00::101,dst=10.0.0.100,sport=1,dport=80')).toEqual(['orig: not an IPv6 pair: fd00::101 / 10.0.0.100']);
  });

  it('reads a mark that comes first after the tuples, and skips lines of other protocols whose names contain tcp or udp', () => {
    expect(parseConntrackDump(line('src=10.0.0.101,dst=10.0.0.100,sport=1,dport=80', 'mark=7,zone=3')).entries.map((e) => [e.mark, e.zone])).toEqual([[7, 3]]);
    const sctp = line('src=10.0.0.101,dst=10.0.0.100,sport=1,dport=80').replace(/^tcp/, 'sctp');
    expect(parseConntrackDump(`${sctp}\nxudp,orig=(broken`)).toEqual({ entries: [], malformed: [] });
  });

  it('counts every closed TCP state as closing, no open one, and never a UDP flow', () => {
    const tcp = (state?: string): ConntrackEntry => ({ ...EXPECTED_ESTABLISHED, ...(state === undefined ? {} : { state }) });
    for (const state of ['TIME_WAIT', 'CLOSED', 'CLOSING', 'LAST_ACK', 'FIN_WAIT_2', 'FIN_WAIT_1', 'CLOSE_WAIT']) {
      expect([state, isClosing(tcp(state)), isEstablished(tcp(state))]).toEqual([state, true, false]);
    }
    for (const state of ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', '']) expect([state, isClosing(tcp(state))]).toEqual([state, false]);
    expect(isClosing({ ...EXPECTED_ESTABLISHED, state: undefined })).toBe(false);
    expect(isClosing({ ...EXPECTED_UDP, state: 'TIME_WAIT' })).toBe(false);
    expect(isEstablished({ ...EXPECTED_UDP, state: 'TIME_WAIT' })).toBe(true);
  });

  it('reads whole keys and protocols only: xsrc= is no src, a part without = is no field, an xtcp line is not TCP', () => {
    const rest = 'sport=39646,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39646),zone=2780,mark=1';
    const xsrc = `tcp,orig=(xsrc=10.0.0.101,dst=10.0.0.100,${rest}`;
    const bare = `tcp,orig=(dst=10.0.0.100,srcx,${rest}`;
    expect(parseConntrackDump([xsrc, bare, `x${ESTABLISHED}`].join('\n'))).toEqual({
      entries: [],
      malformed: [{ line: 1, text: xsrc, reason: 'orig: no src/dst' }, { line: 2, text: bare, reason: 'orig: no src/dst' }],
    });
  });
});
