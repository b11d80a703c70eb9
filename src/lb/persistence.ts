import type { Backend } from './backend';
import type { Ipv6Pair } from '../net/ipv6';

export interface PersistenceOptions {
  /** Affinity lifetime after the last connection under the template ended (ms). */
  timeoutMs: number;
  /** IPv4 clients sharing these leading address bits share a template (IPVS persistent netmask). */
  netmask?: number;
  /**
   * IPv6 clients sharing this many leading bits share a template (IPVS takes the persistent netmask of an IPv6
   * service as a prefix length, ipv6_addr_prefix in ip_vs_sched_persist). Default 128: one client, one template.
   */
  prefixLength6?: number;
  /** sysctl expire_quiescent_template: a quiesced (weight 0) backend loses its affinity. */
  expireQuiescent?: boolean;
}

interface Template {
  backend: Backend;
  /** Connections opened under the template and still open (the kernel's n_control). */
  controlled: number;
  lastUse: number;
}

/**
 * Persistent-service templates: the same client goes to the same backend while the template lives.
 * As IPVS, a template does not expire while connections it placed are open, then lives `timeoutMs`
 * more; it is dropped when its backend is down for the client's family (or quiesced, with expireQuiescent).
 */
export class PersistenceTable {
  /** IPv4 templates by masked address; IPv6 ones by the masked address's words as text. */
  private readonly templates = new Map<number | string, Template>();
  private readonly mask: number;
  private readonly masks6: Uint32Array;
  constructor(private readonly opts: PersistenceOptions) {
    this.mask = opts.netmask ?? 0xffffffff;
    const length = opts.prefixLength6 ?? 128;
    this.masks6 = Uint32Array.from({ length: 4 }, (_, i) => {
      const bits = Math.min(32, Math.max(0, length - 32 * i));
      return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    });
  }

  /** The template key of a client: its masked IPv4 address, or its IPv6 prefix (`ip6`'s client words). */
  private keyOf(clientIp: number, ip6: Ipv6Pair | undefined): number | string {
    if (ip6 === undefined) return (clientIp & this.mask) >>> 0;
    const m = this.masks6;
    return `${(ip6.s0 & m[0]) >>> 0}.${(ip6.s1 & m[1]) >>> 0}.${(ip6.s2 & m[2]) >>> 0}.${(ip6.s3 & m[3]) >>> 0}`;
  }

  get size(): number {
    return this.templates.size;
  }

  /** The backend the client is bound to, or null (expired, missing or no longer valid). */
  lookup(clientIp: number, ip6: Ipv6Pair | undefined, backends: readonly Backend[], now: number): Backend | null {
    const key = this.keyOf(clientIp, ip6);
    const template = this.templates.get(key);
    if (!template) return null;
    const expired = template.controlled === 0 && now - template.lastUse >= this.opts.timeoutMs;
    const b = template.backend;
    // A dual-stack backend out of the client's family only loses that family's templates.
    const invalid = !b.servingFor(ip6 !== undefined) || !backends.includes(b) || (this.opts.expireQuiescent === true && b.weight === 0);
    if (expired || invalid) {
      this.templates.delete(key);
      return null;
    }
    return b;
  }

  /** A connection was placed on `backend` for this client. */
  connectionOpened(clientIp: number, ip6: Ipv6Pair | undefined, backend: Backend, now: number): void {
    const key = this.keyOf(clientIp, ip6);
    const template = this.templates.get(key);
    if (template && template.backend === backend) {
      template.controlled++;
      template.lastUse = now;
    } else {
      this.templates.set(key, { backend, controlled: 1, lastUse: now });
    }
  }

  /** A connection under the client's template ended: the affinity timer restarts from now. */
  connectionClosed(clientIp: number, ip6: Ipv6Pair | undefined, backend: Backend, now: number): void {
    const template = this.templates.get(this.keyOf(clientIp, ip6));
    if (!template || template.backend !== backend) return;
    if (template.controlled > 0) template.controlled--;
    template.lastUse = now;
  }
}
