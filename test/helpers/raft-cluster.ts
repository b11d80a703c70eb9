/**
 * A private 3-member (or N) Raft cluster of real ovsdb-server processes for end-to-end tests: made with
 * `ovsdb-tool create-cluster` / `join-cluster`, each member with its own unix remote, unixctl socket,
 * pidfile and log in one temp dir. Members can be killed with SIGKILL and started again (they rejoin
 * from their own database file). `leader()` asks each live member with `ovs-appctl cluster/status`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RaftMember {
  n: number;
  db: string;
  sock: string;
  ctl: string;
  raft: string;
  pidfile: string;
  remote: string;
}

export class RaftCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'vadc-raft-'));
  readonly members: RaftMember[];

  constructor(
    readonly schemaPath: string,
    readonly dbName: string,
    size = 3,
  ) {
    this.members = Array.from({ length: size }, (_, i) => {
      const n = i + 1;
      const at = (suffix: string): string => join(this.dir, `s${n}.${suffix}`);
      return { n, db: at('db'), sock: at('sock'), ctl: at('ctl'), raft: at('raft'), pidfile: at('pid'), remote: `unix:${at('sock')}` };
    });
  }

  remotes(order: RaftMember[] = this.members): string {
    return order.map((m) => m.remote).join(',');
  }

  async create(): Promise<void> {
    const [first, ...rest] = this.members;
    await run('ovsdb-tool', ['create-cluster', first.db, this.schemaPath, `unix:${first.raft}`]);
    for (const m of rest) await run('ovsdb-tool', ['join-cluster', m.db, this.dbName, `unix:${m.raft}`, `unix:${first.raft}`]);
    for (const m of this.members) await this.start(m);
    await this.waitForMembers(this.members);
  }

  /** Waits until each of `members` reports itself a cluster member and one of them leads. */
  async waitForMembers(members: RaftMember[], limitMs = 30_000): Promise<RaftMember> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const statuses = await Promise.all(members.map((m) => this.status(m)));
      if (statuses.every((s) => s?.includes('Status: cluster member'))) {
        const leader = await this.leader();
        if (leader) return leader;
      }
      if (Date.now() > deadline) throw new Error(`cluster not formed within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async start(m: RaftMember): Promise<void> {
    await run('ovsdb-server', [
      m.db,
      `--remote=punix:${m.sock}`,
      `--unixctl=${m.ctl}`,
      `--pidfile=${m.pidfile}`,
      `--log-file=${join(this.dir, `s${m.n}.log`)}`,
      '--no-chdir',
      '--detach',
    ]);
  }

  pid(m: RaftMember): number | undefined {
    if (!existsSync(m.pidfile)) return undefined;
    const pid = Number(readFileSync(m.pidfile, 'utf8').trim());
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** kill -9, and waits until the process is gone. */
  async kill(m: RaftMember): Promise<void> {
    const pid = this.pid(m);
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    while (this.pid(m) !== undefined) await new Promise((r) => setTimeout(r, 20));
  }

  async status(m: RaftMember): Promise<string | undefined> {
    if (this.pid(m) === undefined) return undefined;
    try {
      const { stdout } = await run('ovs-appctl', ['-t', m.ctl, 'cluster/status', this.dbName], { timeout: 5000 });
      return stdout;
    } catch {
      return undefined;
    }
  }

  /** The member that says "Role: leader", if any. */
  async leader(): Promise<RaftMember | undefined> {
    for (const m of this.members) {
      if ((await this.status(m))?.includes('Role: leader')) return m;
    }
    return undefined;
  }

  async waitForLeader(limitMs = 20_000): Promise<RaftMember> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const leader = await this.leader();
      if (leader) return leader;
      if (Date.now() > deadline) throw new Error(`no Raft leader within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async destroy(): Promise<void> {
    for (const m of this.members) await this.kill(m);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
