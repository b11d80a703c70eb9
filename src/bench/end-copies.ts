// The emulated datapath's connection-end copies (vadc's `datapath.end_copies`): what the end-copy flows a
// controller installed in table 0 copy to it when a connection ends (a FIN from the client, then one from the
// backend), through the meter the controller gave those flows. The switch learns the flows and the meter from
// the controller's own flow-mods and meter-mods, so it sends copies only where a datapath would, with the
// cookie, table and packet the real copy has; the responders (reference, raw) install none and get none.
import { endCopyService, SHARED_END_COPY } from '../flows/cookies';
import { TCP_FLAGS } from '../flows/packets';
import { OFP_NO_BUFFER, OFPMC_ADD, OFPMC_MODIFY, OFPR_ACTION, encode } from '../openflow';
import type { Action, FlowMod, Instruction, MeterMod, Oxm, OxmValue } from '../openflow';
import { formatIpv6, parseIpv6 } from '../net/ipv6';
import { buildFrameTemplate, writeClient, type BenchFamily, type ClientAddress, type ClientFrameSpec } from './frames';

/**
 * A meter's drop band in packets/s, as a token bucket of `burst` packets refilled at `rate` per second (OVS
 * meters drop what exceeds the band; its bucket is about rate-per-second plus burst deep, so this is the
 * stricter reading). Time in ns from the caller: pure.
 */
export class PacketMeter {
  private tokens: number;
  private lastNs = -1;

  constructor(readonly rate: number, readonly burst: number) {
    if (!(rate > 0) || !(burst >= 1)) throw new RangeError(`a meter needs rate > 0 and burst >= 1, got ${rate}/${burst}`);
    this.tokens = burst;
  }

  /** True when the packet passes (takes a token); false when the band drops it. */
  pass(nowNs: number): boolean {
    if (this.lastNs >= 0) this.tokens = Math.min(this.burst, this.tokens + ((nowNs - this.lastNs) * this.rate) / 1e9);
    this.lastNs = nowNs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** A backend's address and software port, as its end-copy flow matches them (the source of its FIN). */
export interface BackendEndpoint {
  ip: string;
  port: number;
  /** Its copy flow's cookie: a backend address:port's own (sharedEndCopyCookie), or an older vadc's service cookie. */
  cookie: bigint;
}

/** What the switch learned from the controller's end-copy flows: the cookie, the meter, each side's flows. */
export interface LearnedEndCopies {
  cookie: bigint;
  /** The meter id the copy action names (0: none, every copy passes). */
  meterId: number;
  /** A client-side copy flow exists (client FIN/RST to the VIP). */
  client: boolean;
  /** Backends with a reply-side copy flow, in the order learned. */
  backends: BackendEndpoint[];
}

function matchField(match: readonly Oxm[], field: string): { value: OxmValue; mask?: OxmValue } | undefined {
  const found = match.find((m) => m.field === field);
  return found && found.field !== 'raw' ? found : undefined;
}

function matchValue(match: readonly Oxm[], field: string): OxmValue | undefined {
  return matchField(match, field)?.value;
}

function copyMeterOf(instructions: readonly Instruction[]): number | undefined {
  for (const i of instructions) {
    if (i.type !== 'apply_actions' && i.type !== 'write_actions') continue;
    const copy = i.actions.find((a: Action) => a.type === 'nx_controller2');
    if (copy?.type === 'nx_controller2') return copy.meterId ?? 0;
  }
  return undefined;
}

/**
 * Learns end-copy flows and meters as the controller installs them. Only flows whose cookie is of vadc's `end`
 * kind and that match a FIN (a copy flow pair is one for FIN, one for RST: the FIN one is the one a graceful
 * close meets) count. A controller may install every service's flows on every switch: the copies this switch
 * sends are those of the service whose client-side copy flow matches its VIP (`vip`), by that flow's cookie.
 */
export class EndCopyLearner {
  private readonly byCookie = new Map<bigint, LearnedEndCopies>();
  private readonly meters = new Map<number, PacketMeter>();
  private readonly vip: string;
  private ours: LearnedEndCopies | undefined;
  /** Backend address:ports' shared copy flows (cookie of no service), by `ip/port`. */
  private readonly shared = new Map<string, BackendEndpoint>();

  constructor(vip: string) {
    this.vip = canonicalIp(vip);
  }

  /** True when this table-0 flow-mod's cookie (read from the wire by the caller) is a copy flow's: decode and learn it. */
  static isCopyCookie(cookie: bigint): boolean {
    return endCopyService(cookie) !== 0;
  }

  /**
   * The copies of this switch's service, once its client-side copy flow came: the backends are those of its cookie
   * (an older vadc's), else every backend address:port's shared copy flow learned (not tied to one service).
   */
  get copies(): LearnedEndCopies | undefined {
    if (!this.ours || this.ours.backends.length > 0) return this.ours;
    return { ...this.ours, backends: [...this.shared.values()] };
  }

  flowMod(msg: FlowMod): void {
    if (!EndCopyLearner.isCopyCookie(msg.cookie)) return;
    const flags = matchField(msg.match, 'tcp_flags');
    if (!flags || (Number(flags.mask ?? flags.value) & TCP_FLAGS.FIN) === 0) return;
    const meterId = copyMeterOf(msg.instructions);
    if (meterId === undefined) return;
    let learned = this.byCookie.get(msg.cookie);
    if (!learned) {
      learned = { cookie: msg.cookie, meterId, client: false, backends: [] };
      this.byCookie.set(msg.cookie, learned);
    }
    const src = matchValue(msg.match, 'ipv4_src') ?? matchValue(msg.match, 'ipv6_src');
    const srcPort = matchValue(msg.match, 'tcp_src');
    const dst = matchValue(msg.match, 'ipv4_dst') ?? matchValue(msg.match, 'ipv6_dst');
    if (src !== undefined && typeof srcPort === 'number') {
      const ip = String(src);
      if (endCopyService(msg.cookie) === SHARED_END_COPY) this.shared.set(`${ip}/${srcPort}`, { ip, port: srcPort, cookie: msg.cookie });
      else if (!learned.backends.some((b) => b.ip === ip && b.port === srcPort)) learned.backends.push({ ip, port: srcPort, cookie: msg.cookie });
    } else if (typeof dst === 'string' && canonicalIp(dst) === this.vip) {
      learned.client = true;
      this.ours = learned;
    }
  }

  meterMod(msg: MeterMod): void {
    if (msg.command !== OFPMC_ADD && msg.command !== OFPMC_MODIFY) {
      this.meters.delete(msg.meterId);
      return;
    }
    const drop = msg.bands.find((b) => b.type === 'drop');
    if (drop && drop.rate > 0) this.meters.set(msg.meterId, new PacketMeter(drop.rate, Math.max(1, drop.burstSize)));
  }

  /** The meter the copies go through, undefined when none (they all pass). */
  meter(): PacketMeter | undefined {
    return this.ours ? this.meters.get(this.ours.meterId) : undefined;
  }
}

function canonicalIp(text: string): string {
  return text.includes(':') ? formatIpv6(parseIpv6(text)) : text;
}

/** A packet-in template for one kind of copy, patched per connection by `EndCopyTemplate.write`. */
export class EndCopyTemplate {
  private readonly message: Buffer;
  private readonly frameAt: number;

  /**
   * @param spec the service's frame spec with `from` set for a backend's FIN (then `side` is 'destination').
   * @param inPort the port the segment came in on: the client's, or the backend's vNIC.
   */
  constructor(
    private readonly spec: ClientFrameSpec & { family: BenchFamily }, cookie: bigint, tableId: number, inPort: number,
  ) {
    const frame = buildFrameTemplate(spec);
    // A copy carries the segment's first END_COPY_MAX_LEN (128) bytes: all of these headers-only frames.
    this.message = encode({
      type: 'packet_in', xid: 0, bufferId: OFP_NO_BUFFER, totalLen: frame.length, reason: OFPR_ACTION,
      tableId, cookie, match: [{ field: 'in_port', value: inPort }], data: frame,
    });
    this.frameAt = this.message.length - frame.length;
  }

  get length(): number {
    return this.message.length;
  }

  /** Writes this copy for `client` at `at` in `buf` (xid 0: a packet-in the controller answers nothing to). */
  write(buf: Buffer, at: number, client: ClientAddress, sequence: number): void {
    this.message.copy(buf, at);
    writeClient(buf, at + this.frameAt, 'tcp', client, sequence, this.spec.family, this.spec.from ? 'destination' : 'source');
  }
}

/** The FIN (with ACK, as a closing side sends it) both sides send. */
export const END_FLAGS = TCP_FLAGS.FIN | TCP_FLAGS.ACK;
