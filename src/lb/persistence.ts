import type { Backend } from './backend';

export interface PersistenceOptions {
  /** Affinity lifetime after the last connection under the template ended (ms). */
  timeoutMs: number;
  /** Clients sharing these leading address bits share a template (IPVS persistent netmask). */
  netmask?: number;
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
 * more; it is dropped when its backend is down (or quiesced, with expireQuiescent).
 */
export class PersistenceTable {
  private readonly templates = new Map<number, Template>();
  private readonly mask: number;
  constructor(private readonly opts: PersistenceOptions) {
    this.mask = opts.netmask ?? 0xffffffff;
  }

  get size(): number {
    return this.templates.size;
  }

  /** The backend the client is bound to, or null (expired, missing or no longer valid). */
  lookup(clientIp: number, backends: readonly Backend[], now: number): Backend | null {
    const key = (clientIp & this.mask) >>> 0;
    const template = this.templates.get(key);
    if (!template) return null;
    const expired = template.controlled === 0 && now - template.lastUse >= this.opts.timeoutMs;
    const b = template.backend;
    const invalid = !b.available || !backends.includes(b) || (this.opts.expireQuiescent === true && b.weight === 0);
    if (expired || invalid) {
      this.templates.delete(key);
      return null;
    }
    return b;
  }

  /** A connection was placed on `backend` for this client. */
  connectionOpened(clientIp: number, backend: Backend, now: number): void {
    const key = (clientIp & this.mask) >>> 0;
    const template = this.templates.get(key);
    if (template && template.backend === backend) {
      template.controlled++;
      template.lastUse = now;
    } else {
      this.templates.set(key, { backend, controlled: 1, lastUse: now });
    }
  }

  /** A connection under the client's template ended: the affinity timer restarts from now. */
  connectionClosed(clientIp: number, backend: Backend, now: number): void {
    const template = this.templates.get((clientIp & this.mask) >>> 0);
    if (!template || template.backend !== backend) return;
    if (template.controlled > 0) template.controlled--;
    template.lastUse = now;
  }
}
