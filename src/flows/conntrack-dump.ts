/**
 * Reads OVS's connection-tracker listing (`ovs-appctl dpctl/dump-conntrack zone=Z`), one connection per
 * line, e.g.
 *
 *   tcp,orig=(src=10.0.0.101,dst=10.0.0.100,sport=39644,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,
 *     sport=8080,dport=39644),zone=2780,mark=3429564418,protoinfo=(state=ESTABLISHED)
 *
 * or, asked with -m (vadc asks so), with each side's TCP state and flags:
 *
 *     ...,id=0,zone=2780,status=0,mark=3429564418,protoinfo=(state_orig=TIME_WAIT,state_reply=TIME_WAIT,
 *     wscale_orig=10,wscale_reply=0,flags_orig=WINDOW_SCALE,flags_reply=0)
 *
 * Pure: text in, typed entries out. Lines that do not parse are returned with the reason (never thrown,
 * never silently dropped), so one odd line does not hide the rest of the table.
 */
import { ipv4ToUint32 } from '../net/ipv4';
import { foldIpv6, ipv6Pair, ipv6Words, parseIpv6, type Ipv6Pair } from '../net/ipv6';

export interface ConntrackTuple {
  /** IPv4 addresses as uint32; for IPv6, each address's IPVS fold (as in the connection table's keys). */
  src: number;
  dst: number;
  sport: number;
  dport: number;
  /**
   * IPv6 only: the source's (s0..s3) and the destination's (d0..d3) words (OVS prints IPv6 tuples as src=ADDR,dst=ADDR),
   * as the connection table's keys hold them (net/Ipv6Pair).
   */
  ip6?: Ipv6Pair;
}

export interface ConntrackEntry {
  proto: 'tcp' | 'udp';
  /** As the client sent it: client -> VIP. */
  orig: ConntrackTuple;
  /** As the backend answers: backend -> client. */
  reply: ConntrackTuple;
  zone: number;
  mark: number;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...), as OVS prints it without -m; undefined for UDP. */
  state?: string;
  /** A -m listing's TCP sides (see tcpEnd); absent in a listing without -m. */
  sides?: TcpSides;
  /** A -m listing named status flags (CONFIRMED, ASSURED...): the kernel's tracker; the userspace one prints none. */
  kernelStatus?: boolean;
}

/** Each side's TCP state and whether its SYN offered window scaling (flags WINDOW_SCALE). */
export interface TcpSides {
  orig: string;
  reply: string;
  origScales: boolean;
  replyScales: boolean;
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

/**
 * How a closing TCP connection ended, as far as the listing tells (OVS lib/conntrack-tcp.c, measured on 3.1 and
 * 3.3.9): the userspace tracker sets both sides to TIME_WAIT on a RST only (a FIN exchange leaves them FIN_WAIT_2),
 * and records a side's window scaling from its SYN only, keeping the client's only if the backend's SYN-ACK scales
 * too. So a reset one whose client scales and whose backend's side does not: the backend never sent a SYN-ACK
 * (refused, or reset before it answered). One whose client does not scale cannot be told: `unknown`, as the
 * kernel's CLOSED. Without -m, or from the kernel's tracker (one state for both sides), closing reads as worked.
 */
export type TcpEnd = 'worked' | 'refused' | 'unknown';

export function tcpEnd(entry: ConntrackEntry): TcpEnd {
  if (entry.state === 'CLOSED') return 'unknown';
  const sides = entry.sides;
  if (!sides || entry.kernelStatus || sides.orig !== 'TIME_WAIT' || sides.reply !== 'TIME_WAIT') return 'worked';
  if (!sides.origScales) return 'unknown';
  return sides.replyScales ? 'worked' : 'refused';
}

/** OVS's TCP states in their enum's order (ct-dpif.h): without -m it prints the later of the two sides'. */
export const TCP_STATE_ORDER: readonly string[] = ['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'CLOSING', 'LAST_ACK', 'FIN_WAIT_2', 'TIME_WAIT'];

/** The one state OVS prints without -m for these two sides (ct-dpif.c: the later one, FIN_WAIT_2 and SYN_RECV coalesced). */
export function oneState(orig: string, reply: string): string {
  const later = TCP_STATE_ORDER.indexOf(orig) >= TCP_STATE_ORDER.indexOf(reply) ? orig : reply;
  return later === 'FIN_WAIT_2' ? 'TIME_WAIT' : later === 'SYN_RECV' ? 'ESTABLISHED' : later;
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
      const words = new Uint32Array(8);
      ipv6Words(parseIpv6(src), 0, words, 0);
      ipv6Words(parseIpv6(dst), 0, words, 4);
      return { src: foldIpv6(words, 0), dst: foldIpv6(words, 4), sport, dport, ip6: ipv6Pair(words) };
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

/** TCP's protoinfo: one state, or (-m) each side's state, the wscales if any, and each side's flags. */
const PROTOINFO = /protoinfo=\((?:state=([A-Z_0-9]+)|state_orig=([A-Z_0-9]+),state_reply=([A-Z_0-9]+)(?:,wscale_orig=\d+,wscale_reply=\d+)?,flags_orig=([A-Z_0-9|]*),flags_reply=([A-Z_0-9|]*))/;
const STATUS = /(?:^|,)status=([A-Z_0-9|]*)/;

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
  const entry: ConntrackEntry = { proto: m[1] as 'tcp' | 'udp', orig, reply, zone: zone ? Number(zone[1]) : 0, mark: mark ? Number(mark[1]) >>> 0 : 0 };
  const state = PROTOINFO.exec(rest);
  if (state?.[1] !== undefined) entry.state = state[1];
  else if (state) {
    const [, , origState, replyState, origFlags, replyFlags] = state as unknown as string[];
    entry.state = oneState(origState, replyState);
    entry.sides = { orig: origState, reply: replyState, origScales: origFlags.includes('WINDOW_SCALE'), replyScales: replyFlags.includes('WINDOW_SCALE') };
    const status = STATUS.exec(rest);
    if (status && status[1] !== '' && status[1] !== '0') entry.kernelStatus = true;
  }
  dump.entries.push(entry);
}
