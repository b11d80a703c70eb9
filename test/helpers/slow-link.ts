// Slowing a lab VM's link with tc, for the feedback tests (schedulers.e2e.ts, datapath-decisions.e2e.ts).
import type { Lab } from '../../src/lab';

/**
 * Slows a VM's egress: netem delay as asked, or, where the kernel has no sch_netem (this CI's), a
 * token bucket that lets its replies out at 64 kbit/s (a VM that drains its work slowly). Says which.
 */
export async function slowDown(lab: Lab, vm: string): Promise<string> {
  const netem = await lab.exec(vm, ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', '50ms']);
  if (netem.code === 0) return 'tc netem delay 50ms on its eth0';
  if (!/qdisc kind is unknown/.test(netem.stderr)) throw new Error(`tc netem on ${vm}: ${netem.stderr.trim()}`);
  const tbf = await lab.exec(vm, ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', '64kbit', 'burst', '1600', 'latency', '1s']);
  if (tbf.code !== 0) throw new Error(`tc tbf on ${vm}: ${tbf.stderr.trim()}`);
  return 'tc tbf rate 64kbit on its eth0 (this kernel has no netem)';
}

/** Undoes slowDown. */
export async function restoreLink(lab: Lab, vm: string): Promise<void> {
  await lab.exec(vm, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
}
