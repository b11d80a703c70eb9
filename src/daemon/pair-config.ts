// Controller HA: the two instances of a pair serve the same configuration, runtime changes included
// (docs/operators/run-a-pair.md). Changes made through the control API (services, backends, weights, config apply)
// reach one instance; when it is the master it publishes the configuration it then runs beside the election, and
// the standby adopts it, keeping what is its own: the listen addresses, the HA and log settings, the API section
// (with its token). So a takeover serves what the old master served, and the standby's state file keeps it over a
// restart of either.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, parse, parseDocument } from 'yaml';
import { redactSecrets } from '../config/secrets';

/** The parts of a configuration that are each instance's own: never published, never taken from the peer. */
export const INSTANCE_PATHS: readonly (readonly string[])[] = [['controller', 'listen'], ['controller', 'ha'], ['api'], ['metrics'], ['log']];

export interface PublishedConfig {
  /** The publishing master's instance id (the election's). */
  from: string;
  /** Changes with every publication of one master; with `from`, tells a new publication from one already read. */
  seq: number;
  /** The master's configuration text, secrets redacted. */
  text: string;
  /** The backends drained through the control API (service, backend): a drain is not part of the configuration. */
  drained?: [string, string][];
}

/** Where a pair's master publishes its configuration and its standby reads it. */
export interface PairConfigChannel {
  publish(doc: PublishedConfig): void;
  /** The latest publication, when it changed since the last call; undefined otherwise. */
  read(): PublishedConfig | undefined;
  /** Where it is kept (for messages). */
  readonly where: string;
}

/** A published configuration larger than this is refused (the config file's own bound is the parser's). */
export const MAX_PUBLISHED_BYTES = 64 * 1024 * 1024;

/** The host election's channel: one file beside its record (KEY.config.json), written whole by rename, mode 0600. */
export class PairConfigFile implements PairConfigChannel {
  readonly where: string;
  private seen?: string;

  constructor(base: string, private readonly onError: (message: string) => void) {
    this.where = `${base}.config.json`;
  }

  publish(doc: PublishedConfig): void {
    const tmp = `${this.where}.${process.pid}.tmp`;
    try {
      mkdirSync(path.dirname(this.where), { recursive: true, mode: 0o755 });
      rmSync(tmp, { force: true });
      writeFileSync(tmp, JSON.stringify(doc), { mode: 0o600, flag: 'wx' });
      renameSync(tmp, this.where);
    } catch (err) {
      this.onError(`cannot publish the configuration to the standby at ${this.where}: ${(err as Error).message}`);
    }
  }

  read(): PublishedConfig | undefined {
    let stamp: string;
    try {
      const st = statSync(this.where);
      if (st.size > MAX_PUBLISHED_BYTES) {
        stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
        if (stamp !== this.seen) this.onError(`${this.where} is ${st.size} bytes, more than the ${MAX_PUBLISHED_BYTES} a published configuration may have: ignored`);
        this.seen = stamp;
        return undefined;
      }
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return undefined; // nothing published yet
    }
    if (stamp === this.seen) return undefined;
    this.seen = stamp;
    let text: string;
    try {
      text = readFileSync(this.where, 'utf8');
    } catch {
      return undefined; // went between the look and the read: the next look sees what came instead
    }
    const doc = parsePublished(text);
    if (!doc) this.onError(`${this.where} is not a configuration vadc published: ignored`);
    return doc;
  }
}

/** A publication's JSON as a PublishedConfig, or undefined when it is not one (either channel: file or store row). */
export function parsePublished(json: string): PublishedConfig | undefined {
  try {
    const doc = JSON.parse(json) as PublishedConfig;
    const drainsOk = doc.drained === undefined || (Array.isArray(doc.drained) && doc.drained.every((d) => Array.isArray(d) && d.length === 2 && d.every((x) => typeof x === 'string')));
    if (typeof doc.from === 'string' && Number.isSafeInteger(doc.seq) && typeof doc.text === 'string' && drainsOk) return doc;
  } catch {
    // not JSON
  }
  return undefined;
}

/** Why a change through the API is refused here: this instance is a pair's standby (undefined: it is not). */
export function standbyRefusal(e: { role: 'master' | 'standby'; peer?: string; masterApi?: string } | undefined, what: string): string | undefined {
  if (!e || e.role !== 'standby') return undefined;
  const master = e.peer ? `the master ${e.peer}${e.masterApi ? ` (its control API: ${e.masterApi})` : ''}` : 'the master (none is known right now: try again in a moment)';
  return `${what}: this instance is the standby of its pair and takes its configuration from the master; make the change on ${master}`;
}

/** The text a master publishes: its configuration without secrets and without what is its own. */
export function publishedText(text: string): string {
  const doc = parseDocument(redactSecrets(text), { prettyErrors: false });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return redactSecrets(text);
  for (const p of INSTANCE_PATHS) doc.deleteIn(p);
  return doc.toString();
}

/**
 * Pure: the configuration this instance should run, given its own and the master's published one: the master's
 * with this instance's own parts; undefined when that is what it runs already (compared as data, not as text).
 */
export function adoptedText(ownText: string, peerText: string): string | undefined {
  const own = parseDocument(ownText, { prettyErrors: false });
  const next = parseDocument(peerText, { prettyErrors: false });
  if (next.errors.length > 0 || !isMap(next.contents)) throw new Error(`the published configuration is not a YAML mapping: ${next.errors[0]?.message ?? 'not a mapping'}`);
  for (const p of INSTANCE_PATHS) {
    next.deleteIn(p);
    if (own.errors.length === 0 && own.hasIn(p)) next.setIn(p, own.getIn(p));
  }
  const text = next.toString();
  return isDeepStrictEqual(parse(text), parse(ownText)) ? undefined : text;
}

export interface PairConfigSyncOptions {
  channel: PairConfigChannel;
  /** The election's view: this instance, its role and (when standby) the master's id. */
  election: () => { instance: string; role: 'master' | 'standby'; master?: string; stoodBy?: string };
  configText: () => string;
  /** Applies a configuration as `config apply` does (its state file is written as for any change). */
  apply: (text: string) => Promise<unknown>;
  emit: (event: { kind: string; level: 'info' | 'warn' | 'error'; message: string; data?: Record<string, unknown> }) => void;
  /** The backends drained through the control API, and how to drain or enable one as the API does. */
  drains?: { list(): [string, string][]; set(service: string, backend: string, drained: boolean): Promise<unknown> };
  /** How often a standby looks for a new publication, ms. */
  intervalMs?: number;
  now: () => number;
}

/** The master publishes after every change and when promoted; the standby looks every `intervalMs` and adopts. */
export class PairConfigSync {
  private timer?: NodeJS.Timeout;
  private seq: number;
  private adopting = Promise.resolve();
  /** The latest publication read, kept until it is handled (its master may not be known as master yet). */
  private latest?: PublishedConfig;
  /** The last publication adopted or refused (from:seq), so a refused one is reported once. */
  private handled?: string;
  /** The master this instance last stood by for: the only one whose publication a promotion adopts. */
  private lastMaster?: string;

  constructor(private readonly opts: PairConfigSyncOptions) {
    // Start from the clock so a restarted master's publications are new to a standby that read the old ones.
    this.seq = opts.now();
  }

  start(): void {
    this.timer = setInterval(() => void this.look(), this.opts.intervalMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The configuration changed (or this instance was just promoted): a master publishes it. */
  changed(): void {
    const e = this.opts.election();
    if (e.role !== 'master') return;
    this.seq += 1;
    const drained = this.opts.drains?.list();
    this.opts.channel.publish({ from: e.instance, seq: this.seq, text: publishedText(this.opts.configText()), ...(drained ? { drained } : {}) });
  }

  /**
   * Promoted: first adopt what the old master published last (it may have changed just before it died, between two
   * looks), then publish, so the standby that follows reads this instance's. Only the master this instance stood by
   * for counts: an instance that starts alone never adopts a publication left by an instance long gone.
   */
  promoted(): Promise<void> {
    return this.look({ promoted: true }).then(() => this.changed());
  }

  /** A standby adopts a publication of its master's it has not handled yet. Changes run one at a time. */
  look(how: { promoted?: boolean } = {}): Promise<void> {
    this.adopting = this.adopting.then(() => this.lookNow(how));
    return this.adopting;
  }

  private async lookNow(how: { promoted?: boolean }): Promise<void> {
    const e = this.opts.election();
    // The election's own memory first: promoted before this instance's first look (within intervalMs of standing by),
    // it still adopts what the master it stood by for published last.
    if (e.stoodBy) this.lastMaster = e.stoodBy;
    else if (e.role === 'standby' && e.master) this.lastMaster = e.master;
    if (e.role !== 'standby' && !how.promoted) return;
    this.latest = this.opts.channel.read() ?? this.latest;
    const doc = this.latest;
    if (!doc || doc.from === e.instance) return;
    // Standing by: only the master's own (not an old master's, read after the new one took over). Promoted: only
    // the master it stood by for.
    if (doc.from !== (how.promoted ? this.lastMaster : e.master)) return;
    const id = `${doc.from}:${doc.seq}`;
    if (id === this.handled) return;
    this.handled = id;
    let adopted = false;
    try {
      const next = adoptedText(this.opts.configText(), doc.text);
      if (next !== undefined) {
        await this.opts.apply(next);
        adopted = true;
      }
      adopted = (await this.adoptDrains(doc.drained ?? [])) || adopted;
    } catch (err) {
      this.opts.emit({
        kind: 'pair_config_refused', level: 'error', data: { from: doc.from },
        message: `the configuration ${doc.from} published (${this.opts.channel.where}) was not adopted: ${(err as Error).message}`,
      });
      return;
    }
    if (!adopted) return;
    this.opts.emit({ kind: 'pair_config_adopted', level: 'info', data: { from: doc.from }, message: `adopted the configuration the master ${doc.from} runs (runtime changes made there)` });
  }

  /** Drains and enables what differs from the master's drains; true when anything changed. */
  private async adoptDrains(theirs: [string, string][]): Promise<boolean> {
    const drains = this.opts.drains;
    if (!drains) return false;
    const key = ([service, backend]: [string, string]) => `${service}\u0000${backend}`;
    const ours = new Map(drains.list().map((d) => [key(d), d]));
    const wanted = new Map(theirs.map((d) => [key(d), d]));
    let changed = false;
    for (const [k, [service, backend]] of wanted) {
      if (ours.has(k)) continue;
      await drains.set(service, backend, true);
      changed = true;
    }
    for (const [k, [service, backend]] of ours) {
      if (wanted.has(k)) continue;
      await drains.set(service, backend, false);
      changed = true;
    }
    return changed;
  }
}
