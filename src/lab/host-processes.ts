// What runs inside the lab's network namespaces: commands, long-running children (killed when the lab goes down), the
// lab's server scripts (src/lab/servers) and its HTTP and UDP clients. Lab resolves its hosts and calls these.
import { ChildProcess, spawn as spawnChild } from 'node:child_process';
import * as path from 'node:path';
import { LabError } from './errors';
import type { HostPlan } from './plan';
import type { ScriptName } from './servers/scripts';
import { run, RunResult } from './system';

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** Processes in the lab's namespaces, with the lab's environment (`env`) and its server scripts (in `serversDir`). */
export class HostProcesses {
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly env: NodeJS.ProcessEnv, private readonly serversDir: string) {}

  /** Runs a command inside a host's namespace; never throws for a non-zero exit (see `code`). */
  exec(host: HostPlan, argv: string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', host.netns, ...argv], { env: this.env, allowFailure: true, ...opts });
  }

  /** Starts a long-running process in a host's namespace; killAll() kills it. */
  spawn(host: HostPlan, argv: string[]): ChildProcess {
    const child = spawnChild('ip', ['netns', 'exec', host.netns, ...argv], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
  }

  /** GET `url` from inside a host's namespace (a fresh connection each time). */
  async httpGet(host: HostPlan, url: string, timeoutMs: number): Promise<HttpAnswer> {
    const result = await this.exec(host, ['node', this.script('http-client.js'), url, String(timeoutMs)], { timeoutMs: timeoutMs + 5000 });
    if (result.code !== 0) throw new LabError('command-failed', `GET ${url} from ${host.name} failed: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as HttpAnswer;
  }

  /** GET `url` from the host itself (outside every namespace): what health checks over the LOCAL port see. */
  async hostHttpGet(url: string, timeoutMs: number): Promise<HttpAnswer> {
    const argv = [process.execPath, this.script('http-client.js'), url, String(timeoutMs)];
    const result = await run(argv, { env: this.env, allowFailure: true, timeoutMs: timeoutMs + 5000 });
    if (result.code !== 0) throw new LabError('command-failed', `GET ${url} from the host failed: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as HttpAnswer;
  }

  async udpRequest(host: HostPlan, ip: string, port: number, payload: string, timeoutMs: number): Promise<string> {
    const argv = ['node', this.script('udp-client.js'), ip, String(port), payload, String(timeoutMs)];
    const result = await this.exec(host, argv, { timeoutMs: timeoutMs + 5000 });
    if (result.code !== 0) throw new LabError('command-failed', `UDP to ${ip}:${port} from ${host.name} failed: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** Starts one of the lab's server scripts on a host; resolves once it says it listens. */
  async startServer<H extends HostPlan>(
    host: H, port: number, script: ScriptName, extra: string[] = [],
  ): Promise<{ host: H; port: number; process: ChildProcess; stop(): Promise<void> }> {
    const child = this.spawn(host, ['node', this.script(script), String(port), host.name, ...extra]);
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.stdout?.setEncoding('utf8').once('data', () => resolve());
      child.once('exit', (code) => reject(new LabError('command-failed', `${script} on ${host.name}:${port} exited (${String(code)}): ${stderr.trim()}`)));
    });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    };
    return { host, port, process: child, stop };
  }

  private script(name: ScriptName): string {
    return path.join(this.serversDir, name);
  }
}
