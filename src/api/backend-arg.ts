import type { BackendSpec } from '../runtime/types';

export class BackendArgError extends Error {
  override readonly name = 'BackendArgError';
  constructor(text: string, reason: string) {
    super(`invalid --backend "${text}": ${reason} (expected VNIC=IP:PORT[,PORT...][/weight=N][/tier=N], e.g. v-vm1=10.0.0.11:8080/weight=2 `
      + 'or v-vm1=[fd00::11]:8080)');
  }
}

/**
 * Parses the CLI's compact backend notation `VNIC=IP:PORT[,PORT...][/weight=N][/tier=N]`; an IPv6 address is written in
 * brackets, `v-vm1=[fd00::11]:8080`, as in a URL.
 * Only the shape is checked here; the daemon validates values (IP, port range) and answers 400.
 */
export function parseBackendArg(text: string): BackendSpec {
  const [target, ...options] = text.split('/');
  const eq = target.indexOf('=');
  if (eq <= 0) throw new BackendArgError(text, 'missing VNIC=');
  const vnic = target.slice(0, eq);
  const address = target.slice(eq + 1);
  const colon = address.lastIndexOf(':');
  if (colon <= 0) throw new BackendArgError(text, 'missing IP:PORT');
  const ports = address.slice(colon + 1).split(',').map((p) => {
    if (!/^\d{1,5}$/.test(p)) throw new BackendArgError(text, `port "${p}" is not a number`);
    return Number(p);
  });
  const host = address.slice(0, colon);
  const bracketed = /^\[([^\]]*)\]$/.exec(host);
  if (!bracketed && host.includes(':')) throw new BackendArgError(text, `write an IPv6 address in brackets: [${host}]:PORT`);
  const spec: BackendSpec = { vnic, ip: bracketed ? bracketed[1] : host, ports };
  for (const option of options) {
    const m = /^(weight|tier)=(\d{1,5})$/.exec(option);
    if (!m) throw new BackendArgError(text, `unknown option "${option}"`);
    spec[m[1] as 'weight' | 'tier'] = Number(m[2]);
  }
  return spec;
}
