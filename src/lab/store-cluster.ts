// A local Raft cluster of ovsdb-server processes serving one schema (vadc's cluster store, for labs and
// single-room deployments): `ovsdb-tool create-cluster` for the first member, `join-cluster` for the others,
// one ovsdb-server each, all files in one directory (a small JSON file says what was made, so `down` and
// `status` work from the directory alone, after the process that made them is gone).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { LabError } from './errors';
import { isAlive, readPidfile, run, sleep, stopProcess } from './system';

export const STORE_CLUSTER_FILE = 'store-cluster.json';
export const MAX_STORE_MEMBERS = 7;

export interface StoreMember {
  n: number;
  /** What clients connect to: unix:DIR/sN.sock or tcp:ADDRESS:PORT. */
  remote: string;
  /** The Raft address between members. */
  raft: string;
  db: string;
  ctl: string;
  pidfile: string;
  log: string;
}

export interface StoreClusterOptions {
  dir: string;
  members?: number;
  /** The schema file and its database name. */
  schema: string;
  db: string;
  /** Listen on tcp:ADDRESS:PORT+i (clients) and tcp:ADDRESS:PORT+100+i (Raft) instead of unix sockets in dir. */
  tcp?: { address: string; port: number };
  /** Raft election timer (ms); ovsdb-tool's default is 1000. */
  electionTimerMs?: number;
}

const fileSchema = z.object({
  db: z.string(),
  members: z.array(z.object({ n: z.number(), remote: z.string(), raft: z.string(), db: z.string(), ctl: z.string(), pidfile: z.string(), log: z.string() })),
});
export type StoreClusterFile = z.infer<typeof fileSchema>;

export interface StoreMemberStatus extends StoreMember {
  pid: number | null;
  running: boolean;
  /** From `ovs-appctl cluster/status`: 'leader', 'follower', 'candidate', ... */
  role?: string;
  /** 'cluster member', 'joining cluster', 'disconnected from the cluster (election timeout)', ... */
  status?: string;
  term?: number;
}

export function planStoreCluster(opts: StoreClusterOptions): StoreClusterFile {
  const count = opts.members ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > MAX_STORE_MEMBERS) {
    throw new LabError('bad-option', `members must be a whole number from 1 to ${MAX_STORE_MEMBERS}, got ${String(opts.members)} (3 or 5 tolerate 1 or 2 failures)`);
  }
  const dir = path.resolve(opts.dir);
  const members = Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const at = (suffix: string) => path.join(dir, `s${n}.${suffix}`);
    const remote = opts.tcp ? `tcp:${opts.tcp.address}:${opts.tcp.port + i}` : `unix:${at('sock')}`;
    const raft = opts.tcp ? `tcp:${opts.tcp.address}:${opts.tcp.port + 100 + i}` : `unix:${at('raft')}`;
    return { n, remote, raft, db: at('db'), ctl: at('ctl'), pidfile: at('pid'), log: at('log') };
  });
  return { db: opts.db, members };
}

function listenArg(remote: string): string {
  return remote.startsWith('unix:') ? `punix:${remote.slice(5)}` : `ptcp:${remote.split(':')[2]}:${remote.split(':')[1]}`;
}

async function startMember(m: StoreMember): Promise<void> {
  await run(['ovsdb-server', m.db, `--remote=${listenArg(m.remote)}`, `--unixctl=${m.ctl}`, `--pidfile=${m.pidfile}`, `--log-file=${m.log}`, '--no-chdir', '--detach']);
}

export async function memberStatus(m: StoreMember, db: string): Promise<StoreMemberStatus> {
  const pid = readPidfile(m.pidfile) ?? null;
  const running = pid !== null && isAlive(pid);
  if (!running) return { ...m, pid, running };
  const out = await run(['ovs-appctl', '-t', m.ctl, 'cluster/status', db], { allowFailure: true, timeoutMs: 5000 });
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(out.stdout)?.[1]?.trim();
  const term = field('Term');
  return { ...m, pid, running, role: field('Role'), status: field('Status'), term: term === undefined ? undefined : Number(term) };
}

/** Makes and starts the members; resolves when every one is a cluster member and one leads. */
export async function storeClusterUp(opts: StoreClusterOptions): Promise<StoreClusterFile> {
  const plan = planStoreCluster(opts);
  const dir = path.resolve(opts.dir);
  if (fs.existsSync(path.join(dir, STORE_CLUSTER_FILE))) {
    throw new LabError('exists', `a store cluster is already made in ${dir}: vadc cluster down --dir ${opts.dir} first`);
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, STORE_CLUSTER_FILE), JSON.stringify(plan, null, 2) + '\n');
  try {
    const [first, ...rest] = plan.members;
    const timer = opts.electionTimerMs ? [`--election-timer=${opts.electionTimerMs}`] : [];
    await run(['ovsdb-tool', ...timer, 'create-cluster', first.db, opts.schema, first.raft]);
    for (const m of rest) await run(['ovsdb-tool', 'join-cluster', m.db, opts.db, m.raft, first.raft]);
    for (const m of plan.members) await startMember(m);
    await waitForStoreCluster(plan);
    return plan;
  } catch (err) {
    await storeClusterDown(dir).catch(() => undefined);
    throw err;
  }
}

export async function waitForStoreCluster(plan: StoreClusterFile, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const statuses = await Promise.all(plan.members.map((m) => memberStatus(m, plan.db)));
    if (statuses.every((s) => s.status === 'cluster member') && statuses.some((s) => s.role === 'leader')) return;
    if (Date.now() > deadline) {
      const what = statuses.map((s) => `s${s.n}: ${s.running ? `${s.status ?? '?'}/${s.role ?? '?'}` : 'not running'}`).join(', ');
      throw new LabError('timeout', `the store cluster did not form within ${limitMs} ms (${what})`);
    }
    await sleep(100);
  }
}

export function readStoreCluster(dir: string): StoreClusterFile | undefined {
  const file = path.join(path.resolve(dir), STORE_CLUSTER_FILE);
  if (!fs.existsSync(file)) return undefined;
  const parsed = fileSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new LabError('bad-state', `${file} is not a store cluster description`);
  return parsed.data;
}

export async function storeClusterStatus(dir: string): Promise<StoreMemberStatus[]> {
  const plan = readStoreCluster(dir);
  if (!plan) throw new LabError('bad-option', `no store cluster in ${path.resolve(dir)} (vadc cluster up --dir ${dir} makes one)`);
  return Promise.all(plan.members.map((m) => memberStatus(m, plan.db)));
}

/** Starts a member again (it rejoins from its own database file). */
export async function startStoreMember(dir: string, n: number): Promise<void> {
  const m = readStoreCluster(dir)?.members.find((x) => x.n === n);
  if (!m) throw new LabError('bad-option', `no member s${n} in ${dir}`);
  const pid = readPidfile(m.pidfile);
  if (pid !== undefined && isAlive(pid)) return;
  await startMember(m);
}

/** Stops one member (SIGKILL with `kill`, as a crash; else SIGTERM). */
export async function stopStoreMember(dir: string, n: number, kill = false): Promise<void> {
  const m = readStoreCluster(dir)?.members.find((x) => x.n === n);
  if (!m) throw new LabError('bad-option', `no member s${n} in ${dir}`);
  const pid = readPidfile(m.pidfile);
  if (pid === undefined || !isAlive(pid)) return;
  if (kill) {
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(10);
  } else await stopProcess(pid);
}

/** Stops every member and removes the directory's cluster files (the directory itself stays). */
export async function storeClusterDown(dir: string): Promise<void> {
  const plan = readStoreCluster(dir);
  if (!plan) return;
  for (const m of plan.members) {
    const pid = readPidfile(m.pidfile);
    if (pid !== undefined && isAlive(pid)) await stopProcess(pid);
  }
  for (const m of plan.members) {
    for (const f of [m.db, m.ctl, m.pidfile, m.log, m.remote.startsWith('unix:') ? m.remote.slice(5) : '', m.raft.startsWith('unix:') ? m.raft.slice(5) : '']) {
      if (f) fs.rmSync(f, { force: true });
    }
    fs.rmSync(`${path.dirname(m.db)}/.s${m.n}.db.~lock~`, { force: true });
  }
  fs.rmSync(path.join(path.resolve(dir), STORE_CLUSTER_FILE), { force: true });
}
