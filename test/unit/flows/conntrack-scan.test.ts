// scanConntrackLine reads the listing's usual lines from their bytes; parseConntrackLine (conntrack-dump.test.ts, the
// golden lines from OVS) is its oracle: whatever the scanner takes, it must read as the text parser does, and whatever
// it cannot read exactly it must decline (the decoder then hands the text to parseConntrackLine).
import { parseConntrackLine, type ConntrackDump } from '../../../src/flows/conntrack-dump';
import { scanConntrackLine } from '../../../src/flows/conntrack-scan';
import { rng } from '../../helpers/fuzz';

const TUPLES = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39646,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39646),';
/** As OVS 3.3.9 prints them with -m (the userspace tracker: id=0, status=0). */
const M_LINES = [
  `${TUPLES}id=0,zone=2780,status=0,mark=3429564418,protoinfo=(state_orig=FIN_WAIT_2,state_reply=FIN_WAIT_2,wscale_orig=10,wscale_reply=10,flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE)`,
  `${TUPLES}id=0,zone=2780,status=0,mark=3429564418,protoinfo=(state_orig=TIME_WAIT,state_reply=TIME_WAIT,wscale_orig=7,wscale_reply=0,flags_orig=WINDOW_SCALE,flags_reply=0)`,
  `${TUPLES}id=0,zone=2780,status=0,mark=3429564418,protoinfo=(state_orig=ESTABLISHED,state_reply=SYN_SENT,flags_orig=0,flags_reply=0)`,
  `${TUPLES}id=7,zone=2780,status=CONFIRMED|ASSURED,timeout=29,mark=0xcc6a0002,labels=0x1,protoinfo=(state_orig=ESTABLISHED,state_reply=ESTABLISHED,wscale_orig=7,wscale_reply=7,flags_orig=WINDOW_SCALE|SACK_PERM,flags_reply=WINDOW_SCALE)`,
];
const OTHER_LINES = [
  `${TUPLES}zone=2780,mark=3429564418,protoinfo=(state=ESTABLISHED)`,
  `${TUPLES}zone=2780,timeout=29,mark=3429564418,protoinfo=(state=TIME_WAIT)`,
  'udp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=57158,dport=53),reply=(src=10.0.0.11,dst=10.0.0.101,sport=5353,dport=57158),zone=2780,mark=2837643266',
  `${TUPLES}`,
  'icmp,orig=(src=10.0.0.101,dst=10.0.0.100,id=4711,type=8,code=0),reply=(src=10.0.0.100,dst=10.0.0.101,id=4711,type=0,code=0),zone=2780',
  '',
];

const bytesOf = (text: string): Buffer => Buffer.from(text, 'utf8');
const empty = (): ConntrackDump => ({ entries: [], malformed: [] });

/** The scanner's answer for a line and the text parser's: equal whenever the scanner takes it. */
function both(text: string): { taken: boolean; scanned: ConntrackDump; parsed: ConntrackDump } {
  // Amid other bytes, as in a chunk of the answer: the scanner reads only [start, end).
  const bytes = bytesOf(`,zone=1)${text},mark=2)`);
  const scanned = empty();
  const taken = scanConntrackLine(bytes, 8, bytes.length - 8, scanned);
  const parsed = empty();
  parseConntrackLine(text, 1, parsed);
  return { taken, scanned, parsed };
}

const ALPHABET = ['0', '9', '5', '6', '7', ',', '=', '(', ')', '.', ':', 'x', 'f', 'A', 'Z', '_', '|', ' ', '\r', '\u00e9', '\u2028', 'zone=', 'mark=', 'status=', 'protoinfo=(', 'state=', 'TIME_WAIT', 'WINDOW_SCALE', '99999', '256', 'tcp,', 'src='];

function mutate(line: string, next: () => number): string {
  let text = line;
  const edits = 1 + Math.floor(next() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (text.length + 1));
    const kind = next();
    const piece = ALPHABET[Math.floor(next() * ALPHABET.length)];
    if (kind < 0.35) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 4)); // delete 1-4
    else if (kind < 0.7) text = text.slice(0, at) + piece + text.slice(at); // insert
    else text = text.slice(0, at) + piece + text.slice(at + piece.length); // overwrite
  }
  return text;
}

describe('scanConntrackLine', () => {
  it("takes OVS's lines, with and without -m, and reads each as parseConntrackLine does", () => {
    for (const line of [...M_LINES, ...OTHER_LINES]) {
      const { taken, scanned, parsed } = both(line);
      expect({ line, taken }).toEqual({ line, taken: true });
      expect(scanned).toEqual(parsed);
    }
    // A -m line's states are the one state without -m, the sides and their window scaling (tcpEnd's input).
    expect(both(M_LINES[1]).scanned.entries[0]).toMatchObject({ state: 'TIME_WAIT', sides: { orig: 'TIME_WAIT', reply: 'TIME_WAIT', origScales: true, replyScales: false } });
    expect(both(M_LINES[3]).scanned.entries[0]).toMatchObject({ mark: 0xcc6a0002, kernelStatus: true });
  });

  it('declines what it cannot read exactly: IPv6 tuples, trimmed edges, malformed lines (the text parser says why)', () => {
    const ipv6 = 'tcp,orig=(src=fd00::65,dst=fd00::64,sport=39646,dport=80),reply=(src=fd00::b,dst=fd00::65,sport=8080,dport=39646),zone=2780,mark=1';
    expect(both(ipv6).taken).toBe(false);
    expect(both(ipv6).parsed.entries).toHaveLength(1);
    const padded = bytesOf(` ${M_LINES[0]}\t`);
    expect(scanConntrackLine(padded, 0, padded.length, empty())).toBe(false);
    const badPort = both(M_LINES[0].replace('sport=39646', 'sport=70000'));
    expect(badPort.taken).toBe(false);
    expect(badPort.parsed.malformed[0].reason).toBe('orig: bad ports');
  });

  it('reads nothing past the line: bytes after its end in a reused buffer do not complete it', () => {
    const whole = bytesOf(M_LINES[0]);
    const cut = M_LINES[0].indexOf(',dst=10.0.0.100');
    const dump = empty();
    expect(scanConntrackLine(whole, 0, cut, dump)).toBe(false);
    const protoinfoEnd = M_LINES[0].length - 1; // without its closing parenthesis
    expect(scanConntrackLine(whole, 0, protoinfoEnd, dump)).toBe(false);
    expect(dump.entries).toHaveLength(0);
  });

  it('agrees with parseConntrackLine on 30,000 mutated lines: same entry when it takes one, declines every malformed one', () => {
    const next = rng(15); // the same mutations every run
    const seeds = [...M_LINES, ...OTHER_LINES.slice(0, 4)];
    let taken = 0;
    let declinedMalformed = 0;
    for (let i = 0; i < 30_000; i++) {
      const line = mutate(seeds[i % seeds.length], next);
      const result = both(line);
      if (result.taken) {
        taken++;
        expect({ line, scanned: result.scanned }).toEqual({ line, scanned: result.parsed });
      } else if (result.parsed.malformed.length) declinedMalformed++;
    }
    // Both kinds happen (so the comparison above means something).
    expect(taken).toBeGreaterThan(2000);
    expect(declinedMalformed).toBeGreaterThan(2000);
  });
});
