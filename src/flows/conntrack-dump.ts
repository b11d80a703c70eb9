/**
 * Reads OVS's connection-tracker listing (`ovs-appctl dpctl/dump-conntrack zone=Z`), one connection per
 * line, e.g.
 *
 *   tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39644,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,
 *     sport=8080,dport=39644),zone=2780,mark=3429564418,protoinfo=(state=ESTABLISHED)
 *
 * Pure: text in, typed entries out. Lines that do not parse are returned with the reason (never thrown,
 * never silently dropped), so one odd line does not hide the rest of the table.
 */
import { ipv4ToUint32 } from '../net/ipv4';
import { foldIpv6, ipv6Words, parseIpv6 } from '../net/ipv6';

export interface ConntrackTuple {
  /** IPv4 addresses as uint32; for IPv6, each address's IPVS fold (as in the connection table's keys). */
  src: number;
  dst: number;
  sport: number;
  dport: number;
  /** IPv6 only: the source's then the destination's four words (OVS prints IPv6 tuples as src=ADDR,dst=ADDR). */
  ip6?: Uint32Array;
}

export interface ConntrackEntry {
  proto: 'tcp' | 'udp';
  /** As the client sent it: client -> VIP. */
  orig: ConntrackTuple;
  /** As the backend answers: backend -> client. */
  reply: ConntrackTuple;
  zone: number;
  mark: number;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...); undefined for UDP. */
  state?: string;
}

export interface ConntrackDump {
  entries: ConntrackEntry[];
  malformed: Array<{ line: number; text: string; reason: string }>;
}

/** TCP states in which the connection is over (IPVS drops such entries from its counts). */
const CLOSED_TCP_STATES = new Set(['TIME_WAIT', 'CLOSED', 'CLOSING', 'LAST_ACK', 'FIN_WAIT_2', 'FIN_WAIT_1', 'CLOSE_WAIT']);

/** True while the connection carries data: an ESTABLISHED TCP connection, or any UDP flow. */
export function isEstablished(entry: ConntrackEntry): boolean {
  return entry.proto === 'udp' || entry.state === 'ESTABLISHED';
}

/** True once either side has closed (FIN or RST seen): the connection no longer counts. */
export function isClosing(entry: ConntrackEntry): boolean {
  return entry.proto === 'tcp' && entry.state !== undefined && CLOSED_TCP_STATES.has(entry.state);
}

const LINE = /^(tcp|udp),orig=\(([^)]*)\),reply=\(([^)]*)\),(.*)$/;

/** The order OVS prints a tuple's fields in: read without building a map (100,000 lines a poll). */
const TUPLE_IN_ORDER = /^src=([^,]*),dst=([^,]*),sport=(\d{1,5}),dport=(\d{1,5})$/;

/** A tuple's four fields as text: by one match in OVS's usual order, else field by field. */
function tupleFields(text: string): { src?: string; dst?: string; sport?: string; dport?: string } {
  const inOrder = TUPLE_IN_ORDER.exec(text);
  if (inOrder) return { src: inOrder[1], dst: inOrder[2], sport: inOrder[3], dport: inOrder[4] };
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return { src: fields.get('src'), dst: fields.get('dst'), sport: fields.get('sport'), dport: fields.get('dport') };
}

function tuple(text: string): ConntrackTuple | string {
  const fields = tupleFields(text);
  const { src, dst } = fields;
  const sport = Number(fields.sport);
  const dport = Number(fields.dport);
  if (src === undefined || dst === undefined) return 'no src/dst';
  if (!Number.isInteger(sport) || !Number.isInteger(dport) || sport < 0 || sport > 0xffff || dport < 0 || dport > 0xffff) return 'bad ports';
  if (src.includes(':') || dst.includes(':')) {
    try {
      const ip6 = new Uint32Array(8);
      ipv6Words(parseIpv6(src), 0, ip6.subarray(0, 4));
      ipv6Words(parseIpv6(dst), 0, ip6.subarray(4, 8));
      return { src: foldIpv6(ip6, 0), dst: foldIpv6(ip6, 4), sport, dport, ip6 };
    } catch {
      return `not an IPv6 pair: ${src} / ${dst}`;
    }
  }
  try {
    return { src: ipv4ToUint32(src), dst: ipv4ToUint32(dst), sport, dport };
  } catch {
    return `not IPv4: ${src} / ${dst}`;
  }
}

/** Parses a dump; only TCP and UDP lines are vadc's (other protocols' lines are skipped, not malformed). */
export function parseConntrackDump(text: string): ConntrackDump {
  const dump: ConntrackDump = { entries: [], malformed: [] };
  const lines = text.split('\n');
  parseConntrackLines(lines, 0, lines.length, dump);
  return dump;
}

/**
 * Parses lines [from, to) of a dump split at newlines into `dump` (line numbers count from the dump's first line),
 * so a caller can parse a listing of 100,000 in slices and let its event loop run between them.
 */
export function parseConntrackLines(lines: readonly string[], from: number, to: number, dump: ConntrackDump): void {
  for (let i = from; i < to; i++) parseConntrackLine(lines[i], i + 1, dump);
}

/** Parses one line of a dump (`lineNo`: its number in the dump, from 1) into `dump`. */
export function parseConntrackLine(text: string, lineNo: number, dump: ConntrackDump): void {
  const line = text.trim();
  if (line === '') return;
  const m = LINE.exec(line);
  if (!m) {
    if (/^(tcp|udp),/.test(line)) dump.malformed.push({ line: lineNo, text: line, reason: 'no orig=(...) and reply=(...) tuples' });
    return;
  }
  const orig = tuple(m[2]);
  const reply = tuple(m[3]);
  if (typeof orig === 'string' || typeof reply === 'string') {
    dump.malformed.push({ line: lineNo, text: line, reason: typeof orig === 'string' ? `orig: ${orig}` : `reply: ${reply as string}` });
    return;
  }
  const rest = m[4];
  const zone = /(?:^|,)zone=(\d+)/.exec(rest);
  const mark = /(?:^|,)mark=(0x[0-9a-fA-F]+|\d+)/.exec(rest);
  const state = /protoinfo=\(state=([A-Z_0-9]+)/.exec(rest);
  const entry: ConntrackEntry = { proto: m[1] as 'tcp' | 'udp', orig, reply, zone: zone ? Number(zone[1]) : 0, mark: mark ? Number(mark[1]) >>> 0 : 0 };
  if (state) entry.state = state[1];
  dump.entries.push(entry);
}
