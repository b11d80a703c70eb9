// The pcap writer the tshark oracle uses: read back byte by byte here, and by tshark itself (which checks the IPv4
// and TCP checksums and follows the TCP stream). Missing tshark fails the test, as in the oracle test.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ofPcap } from '../../helpers/pcap';

const hello = Buffer.from('0400000800000011', 'hex'); // OFPT_HELLO, xid 0x11
const echoPair = Buffer.from('0402000c00000022abcdef01' + '0403000800000033', 'hex'); // echo request (4 data bytes), echo reply

interface PcapRecord { seconds: number; micros: number; frame: Buffer }

/** An independent reading of the classic pcap layout. */
function readPcap(file: Buffer): { magic: number; version: string; snaplen: number; linktype: number; records: PcapRecord[] } {
  const records: PcapRecord[] = [];
  for (let at = 24; at < file.length;) {
    const captured = file.readUInt32LE(at + 8);
    expect(file.readUInt32LE(at + 12)).toBe(captured); // original length: nothing was cut
    records.push({ seconds: file.readUInt32LE(at), micros: file.readUInt32LE(at + 4), frame: file.subarray(at + 16, at + 16 + captured) });
    at += 16 + captured;
  }
  return {
    magic: file.readUInt32LE(0), version: `${file.readUInt16LE(4)}.${file.readUInt16LE(6)}`,
    snaplen: file.readUInt32LE(16), linktype: file.readUInt32LE(20), records,
  };
}

function tshark(pcap: Buffer, port: number, fields: string[]): string[][] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-pcap-'));
  try {
    const file = path.join(dir, 'of.pcap');
    fs.writeFileSync(file, pcap);
    const out = execFileSync('tshark', [
      '-r', file, '-d', `tcp.port==${port},openflow`, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
      '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', ...fields.flatMap((f) => ['-e', f]),
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.replace(/\n$/, '').split('\n').map((line) => line.split('\t'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

it('writes one Ethernet/IPv4/TCP frame per payload, the payload bytes unchanged, sequence numbers continuing', () => {
  const pcap = readPcap(ofPcap([hello, echoPair], { firstSeq: 0xfffffffc, seconds: 1700000000 }));
  expect([pcap.magic, pcap.version, pcap.linktype]).toEqual([0xa1b2c3d4, '2.4', 1]);
  expect(pcap.records.map((r) => [r.seconds, r.micros, r.frame.length])).toEqual([[1700000000, 0, 54 + 8], [1700000000, 1, 54 + 20]]);
  expect(pcap.snaplen).toBe(14 + 0xffff);
  const seqs = pcap.records.map(({ frame }) => {
    expect(frame.readUInt16BE(12)).toBe(0x0800);
    expect([frame[14], frame.readUInt16BE(16), frame[14 + 9]]).toEqual([0x45, frame.length - 14, 6]);
    expect([...frame.subarray(26, 34)]).toEqual([10, 0, 0, 1, 10, 0, 0, 2]);
    expect([frame.readUInt16BE(34), frame.readUInt16BE(36), frame[34 + 12] >> 4, frame[34 + 13]]).toEqual([40000, 6653, 5, 0x18]);
    return frame.readUInt32BE(34 + 4);
  });
  expect(seqs).toEqual([0xfffffffc, 4]); // wraps modulo 2^32
  expect(pcap.records.map((r) => r.frame.subarray(54).toString('hex'))).toEqual([hello.toString('hex'), echoPair.toString('hex')]);
});

it('tshark finds both checksums good, one in-order stream, and every OpenFlow message in it', () => {
  const fields = ['ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'ip.checksum.status', 'tcp.checksum.status', 'tcp.seq_raw',
    'tcp.payload', 'openflow_v4.type', 'openflow_v4.xid', '_ws.expert.message', '_ws.malformed'];
  // A sequence number that does not follow on would draw "previous segment not captured" or a retransmission.
  expect(tshark(ofPcap([hello, echoPair, hello]), 6653, fields)).toEqual([
    ['10.0.0.1', '40000', '10.0.0.2', '6653', '1', '1', '1000', hello.toString('hex'), '0', '17', '', ''],
    ['10.0.0.1', '40000', '10.0.0.2', '6653', '1', '1', '1008', echoPair.toString('hex'), '2;3', '34;51', '', ''],
    ['10.0.0.1', '40000', '10.0.0.2', '6653', '1', '1', '1028', hello.toString('hex'), '0', '17', '', ''],
  ]);
  expect(tshark(ofPcap([echoPair], { toSwitch: true, port: 16653 }), 16653, fields.slice(0, 4).concat('openflow_v4.type')))
    .toEqual([['10.0.0.2', '16653', '10.0.0.1', '40000', '2;3']]);
});

it('refuses an empty payload and one too large for an IPv4 packet', () => {
  expect(() => ofPcap([hello, Buffer.alloc(0)])).toThrow('payload 1 is empty');
  expect(ofPcap([Buffer.alloc(0xffff - 40)]).length).toBe(24 + 16 + 54 + 0xffff - 40);
  expect(() => ofPcap([Buffer.alloc(0xffff - 39)])).toThrow('payload 0 is 65496 bytes: too large for one IPv4 packet');
});
