// ovs-vswitchd's dpctl/dump-conntrack answer decoded piece by piece (src/daemon/listing-reply.ts): whatever the pieces,
// the same dump as JSON.parse and the one-shot parser give for the whole answer.
import { ListingReplyDecoder, ListingReplyError, type ListingReply } from '../../../src/daemon/listing-reply';
import { parseConntrackDump } from '../../../src/flows/conntrack-dump';

const LINE = 'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39644,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39644),zone=2780,mark=3429564418,protoinfo=(state=ESTABLISHED)';
const LINES = [
  LINE,
  LINE.replace('39644,dport=80', '40000,dport=80').replace('ESTABLISHED', 'TIME_WAIT'),
  '',
  'udp,orig=(src=fd00::101,dst=fd00::100,sport=5353,dport=53),reply=(src=fd00::11,dst=fd00::101,sport=5353,dport=5353),zone=2780,mark=7',
  // Malformed (bad port), and lines with what JSON escapes: a quote, a backslash, a tab, a non-ASCII character.
  'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=99999,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=1),zone=2780',
  'tcp,orig=(src="10.0.0.1\\",dst=x),reply=(\tsrc=é)',
  'icmp,orig=(src=10.0.0.1,dst=10.0.0.2,id=1,type=8,code=0),reply=(src=10.0.0.2,dst=10.0.0.1,id=1,type=0,code=0),zone=2780',
  LINE.replace('39644,dport=80', '40001,dport=80'),
  // -m lines (what vadc asks for), read from their bytes: a long one, then a shorter one put together in the same room.
  'tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39646,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39646),id=0,zone=2780,status=0,mark=0xcc6a0002,'
    + 'protoinfo=(state_orig=TIME_WAIT,state_reply=TIME_WAIT,wscale_orig=7,wscale_reply=0,flags_orig=WINDOW_SCALE,flags_reply=0)',
  'udp,orig=(src=10.0.0.1,dst=10.0.0.100,sport=5353,dport=53),reply=(src=10.0.0.11,dst=10.0.0.1,sport=53,dport=5353),id=0,zone=2780,status=0,mark=3',
];
const TEXT = `${LINES.join('\n')}\n`;

function decode(pieces: Buffer[]): ListingReply {
  const decoder = new ListingReplyDecoder();
  pieces.forEach((piece, i) => expect(decoder.push(piece)).toBe(i === pieces.length - 1));
  return decoder.reply();
}

const whole = (json: string): Buffer[] => [Buffer.from(json)];

describe('ListingReplyDecoder', () => {
  const answer = JSON.stringify({ result: TEXT, error: null, id: 3 });
  const expected = parseConntrackDump((JSON.parse(answer) as { result: string }).result);

  it('decodes the answer into the one-shot parser\'s dump, with the id and no error', () => {
    expect(expected.entries).toHaveLength(6);
    expect(expected.malformed).toHaveLength(2);
    expect(decode(whole(answer))).toEqual({ id: 3, error: null, listed: true, dump: expected });
  });

  it('gives the same dump whatever the pieces: split at every offset, and byte by byte', () => {
    const bytes = Buffer.from(answer);
    for (let at = 1; at < bytes.length; at++) expect(decode([bytes.subarray(0, at), bytes.subarray(at)]).dump).toEqual(expected);
    expect(decode([...bytes].map((b) => Buffer.from([b]))).dump).toEqual(expected);
  });

  it('finds the listing whatever the members\' order and spacing', () => {
    for (const json of [
      `{"id":3,"error":null,"result":${JSON.stringify(TEXT)}}`,
      `{ "error" : null ,\n "result" : ${JSON.stringify(TEXT)} , "id" : 3 }`,
      `{"error":null,"id":3,"result":${JSON.stringify(TEXT)}}\n`,
    ]) {
      expect(decode(whole(json))).toEqual({ id: 3, error: null, listed: true, dump: expected });
    }
  });

  it("reads a \"result\" key spelt with escapes too (parsed whole), and an empty listing", () => {
    expect(decode(whole(`{"id":1,"error":null,"res\\u0075lt":${JSON.stringify(TEXT)}}`)).dump).toEqual(expected);
    expect(decode(whole('{"id":1,"error":null,"result":""}'))).toEqual({ id: 1, error: null, listed: true, dump: { entries: [], malformed: [] } });
  });

  it("reports ovs-vswitchd's error with a null result, and a result that is not text", () => {
    expect(decode(whole('{"error":"no such datapath","id":2,"result":null}'))).toEqual({ id: 2, error: 'no such datapath', listed: false, other: null, dump: { entries: [], malformed: [] } });
    expect(decode(whole('{"error":null,"id":2,"result":{"a":["b"]}}'))).toMatchObject({ listed: false, other: { a: ['b'] } });
  });

  it('refuses what is not one unixctl reply, with a typed error', () => {
    expect(() => new ListingReplyDecoder().push(Buffer.from('["a"]'))).toThrow(ListingReplyError);
    expect(() => new ListingReplyDecoder().push(Buffer.from('{"id":1,"result":""} x'))).toThrow(/bytes after the reply/);
    const done = new ListingReplyDecoder();
    done.push(Buffer.from('{"id":1,"result":""}'));
    expect(() => done.push(Buffer.from('{'))).toThrow(/bytes after the reply/);
    const bad = new ListingReplyDecoder();
    expect(bad.push(Buffer.from('{"id":1,,"result":""}'))).toBe(true);
    expect(() => bad.reply()).toThrow(/invalid JSON/);
    const open = new ListingReplyDecoder();
    open.push(Buffer.from('{"id":1,"result":"tcp'));
    expect(() => open.reply()).toThrow(/not complete/);
    expect(() => new ListingReplyDecoder().push(Buffer.from('{"result":"a\\qb"}'))).toThrow(/line 1 of the listing: invalid JSON string/);
  });
});
