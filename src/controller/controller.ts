import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { OfpMessage, PacketIn } from '../openflow';
import type { Logger } from '../util/logger';
import { silentLogger } from '../util/logger';
import { ViolationLog } from '../util/violation-log';
import { listenError } from '../util/listen-error';
import { ControllerError, MissingTlsMaterialError, PreEncodedMessageError, ProtocolViolationError, SwitchErrorReply, UnknownSwitchError, clipReason } from './errors';
import { formatDpid } from '../openflow/dpid';
import { DEFAULT_SESSION_OPTIONS, SessionOptions, SwitchSession } from './session';
import { ListenTarget, formatListenTarget, parseListenTarget } from './target';
import { RoleMachine, nonMasterMaySend, type RoleReport, type RoleStep } from './role';
import { PacketInRing, replayHeld, type HeldVerdict, type ReplayReport } from './packet-in-ring';
import type { ControllerApp, OutboundMessage, ReplyTo, RequestMessage, RequestOptions, RoleAuthority, SwitchInfo, TlsMaterial } from './types';

export type { RoleAuthority, TlsMaterial } from './types';

export interface ControllerOptions {
  /** Default ['tcp:127.0.0.1:6653']. */
  listen?: string[];
  /** Required when any target is 'ssl:'. */
  tls?: TlsMaterial;
  session?: Partial<Omit<SessionOptions, 'logger' | 'now'>>;
  app?: ControllerApp;
  logger?: Logger;
  now?: () => number;
  /**
   * A second connection claiming a connected datapath id waits this long for the established session to answer
   * an echo: answered, the claimant is refused; unanswered, it takes over (default 2000 ms).
   */
  takeoverProbeMs?: number;
  /**
   * Connections still in the handshake held at once (default 32). A new one beyond it drops the oldest, so a
   * flood of half-open connections cannot keep a real switch (which finishes its handshake in milliseconds) out.
   */
  maxHandshaking?: number;
  /** Switches connected at once (default 256); a switch beyond it is refused after its handshake. */
  maxSwitches?: number;
  /**
   * Run OpenFlow 1.3 roles (controller HA): each connection becomes SLAVE, or MASTER when the authority says so,
   * and sends nothing but reads and role/echo messages until it is master. Without it every connection stays
   * EQUAL and writes at once (a controller that is alone by design).
   */
  roles?: RoleAuthority;
  /**
   * With roles: once the switch grants MASTER, packet-ins are still held (not decided) until replayHeldPacketIns takes
   * them, at most this long (ms); after that they are decided as they come. Meanwhile the app reads back what the
   * datapath holds: a decision before that could give a new connection a connection id the old master's flows still
   * carry, and the end of the old connection would then delete the new one's flows. Without roles the same from the
   * switch's connection on (an EQUAL connection writes at once: a restarted process numbers its connections from 1
   * while the datapath still holds the last run's). Default 0: decided at once.
   */
  holdAfterMastershipMs?: number;
}

export const DEFAULT_MAX_HANDSHAKING = 32;
export const DEFAULT_MAX_SWITCHES = 256;

/** A second connection claimed a datapath id that was up; `kept` says which connection drives it now. */
export interface DpidConflict {
  dpid: bigint;
  holder: string;
  claimant: string;
  kept: 'holder' | 'claimant';
  reason: string;
}

export interface ControllerEvents {
  switch_up: [SwitchInfo];
  switch_down: [bigint, string];
  /** An unsolicited OFPT_ERROR from a switch, or a peer refused for breaking the protocol. */
  error: [ControllerError, SwitchInfo | undefined];
  /** Every message from a switch that is up, after the runtime has handled it. */
  message: [SwitchInfo, OfpMessage];
  /** The switch's socket stopped (true) or resumed (false) taking data: bulk producers should wait. */
  backpressure: [SwitchInfo, boolean];
  /** A connection claimed the datapath id of a switch that was up. */
  dpid_conflict: [DpidConflict];
  /** With roles: what a switch's role answer or role status meant (granted, fenced, refused). */
  role: [SwitchInfo, RoleReport];
}

/**
 * Accepts switch connections on tcp and/or ssl targets, runs one SwitchSession per connection,
 * keeps the switches that are up by datapath id, and drives the application: its handlers' returned
 * messages are sent to that switch in order.
 */
export class Controller extends EventEmitter<ControllerEvents> {
  private readonly targets: ListenTarget[];
  private readonly servers: net.Server[] = [];
  private readonly connecting = new Set<SwitchSession>();
  private readonly byDpid = new Map<bigint, SwitchSession>();
  /**
   * The session byDpid held for its datapath id at its last message, until byDpid changes: messages come in runs
   * from one switch (a read's worth), and a Map lookup by a BigInt key is a runtime call to hash and compare it
   * (~250 instructions per packet-in, callgrind: docs/benchmarks.md).
   */
  private lastServing: SwitchSession | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  private app?: ControllerApp;
  private readonly violations: ViolationLog;
  /**
   * With roles: each connection's packet-ins while it is not master, for a takeover to replay (packet-in-ring.ts);
   * without roles (holdAfterMastershipMs): a new connection's, until its replay.
   */
  private readonly held = new WeakMap<SwitchSession, PacketInRing>();
  /** With holdAfterMastershipMs: when each master connection's mastership (without roles: the connection) began, until its replay. */
  private readonly holdingSince = new WeakMap<SwitchSession, number>();

  constructor(private readonly opts: ControllerOptions = {}) {
    super();
    this.targets = (opts.listen ?? ['tcp:127.0.0.1:6653']).map(parseListenTarget);
    const sslTarget = this.targets.find((t) => t.protocol === 'ssl');
    if (sslTarget && !opts.tls) throw new MissingTlsMaterialError(formatListenTarget(sslTarget));
    this.logger = opts.logger ?? silentLogger();
    this.violations = new ViolationLog(this.logger, { now: opts.now });
    this.now = opts.now ?? Date.now;
    this.app = opts.app;
  }

  setApp(app: ControllerApp | undefined): void {
    this.app = app;
  }

  /** Starts listening; resolves with the bound targets (real ports when 0 was asked for). */
  async start(): Promise<string[]> {
    const bound: string[] = [];
    for (const target of this.targets) {
      const server = this.createServer(target);
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        const refused = (err: Error) => reject(listenError(err, 'controller.listen', formatListenTarget(target)));
        server.once('error', refused);
        server.listen(target.port, target.host, () => {
          server.removeListener('error', refused);
          resolve();
        });
      });
      server.on('error', (err) => this.logger.error(`listener ${formatListenTarget(target)} failed: ${err.message}`));
      const address = server.address() as net.AddressInfo;
      bound.push(formatListenTarget({ ...target, port: address.port }));
      this.logger.info('controller listening', { target: bound[bound.length - 1] });
    }
    return bound;
  }

  /** Stops listening and closes every session. */
  async stop(): Promise<void> {
    for (const session of [...this.connecting, ...this.byDpid.values()]) session.close('controller stopping');
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }

  switches(): SwitchInfo[] {
    return [...this.byDpid.values()];
  }

  switch(dpid: bigint): SwitchInfo | undefined {
    return this.byDpid.get(dpid);
  }

  /** Sends messages to a switch, in order. Throws UnknownSwitchError if it is not up. */
  send(dpid: bigint, msgs: readonly OutboundMessage[]): void {
    this.session(dpid).send(msgs);
  }

  request<T extends RequestMessage>(dpid: bigint, msg: T, opts?: RequestOptions): Promise<ReplyTo<T>> {
    try {
      return this.session(dpid).request(msg, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  barrier(dpid: bigint, opts?: RequestOptions): Promise<void> {
    try {
      return this.session(dpid).barrier(opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Whether the switch's socket is refusing data (the app should hold bulk work until 'drain'). */
  isBackpressured(dpid: bigint): boolean {
    return this.session(dpid).isBackpressured;
  }

  /** The authority's verdict changed: every connection asks its switch for the matching role. */
  updateRoles(): void {
    const authority = this.opts.roles;
    if (!authority) return;
    const now = this.now();
    for (const session of this.byDpid.values()) {
      if (session.role && session.state === 'up') this.applyRoleStep(session, session.role.want(authority.wanted(), now));
    }
  }

  /**
   * A takeover's replay (call it once this instance is master at the switch and knows the connections the datapath
   * holds): the packet-ins held while it was not master, no older than the ring's bound, go through the app's
   * packet-in handler in arrival order, except those `verdict` calls known. Undefined when the switch is not up
   * or this connection may not write (then nothing is taken: a later takeover finds them too old).
   */
  replayHeldPacketIns(dpid: bigint, verdict: (sw: SwitchInfo, msg: PacketIn) => HeldVerdict): ReplayReport | undefined {
    const session = this.byDpid.get(dpid);
    const ring = session && this.held.get(session);
    const now = this.now();
    if (!session || !ring || session.state !== 'up') return undefined;
    if (session.role && !(session.role.isMaster && this.opts.roles?.mayWrite(now))) return undefined;
    this.holdingSince.delete(session);
    return replayHeld(ring.take(now), (msg) => verdict(session, msg), (msg) => {
      this.runHandler(session, 'onPacketIn', () => this.app?.onPacketIn?.(session, msg, this.now()));
    });
  }

  private startRole(session: SwitchSession, authority: RoleAuthority): void {
    const machine = new RoleMachine(authority.wanted(), this.now());
    session.role = machine;
    this.held.set(session, new PacketInRing());
    session.setWriteGate((type) => nonMasterMaySend(type) || (machine.isMaster && authority.mayWrite(this.now())));
    this.applyRoleStep(session, machine.connected(this.now()));
  }

  /** Sends a role step's messages and reports what it meant; mastership (re)installs the app's flows. */
  private applyRoleStep(session: SwitchSession, step: RoleStep): void {
    if (session.state !== 'up') return;
    if (step.msgs.length) session.send(step.msgs);
    const report = step.report;
    if (!report) return;
    this.logger.info(`switch role: ${report.kind}`, { dpid: formatDpid(session.dpid), ...('generation' in report ? { generation: String(report.generation) } : {}) });
    this.emit('role', session, report);
    // No longer master before its replay (demoted, fenced): the ring ages its packet-ins as a standby's again.
    if (!session.role?.isMaster) this.held.get(session)?.release();
    if (report.kind !== 'master') return;
    if (this.opts.holdAfterMastershipMs) {
      this.holdingSince.set(session, this.now());
      this.held.get(session)?.holdFrom(this.now());
    }
    this.runHandler(session, 'onMastership', () => this.app?.onMastership?.(session, this.now()));
  }

  /** Whether a master connection still holds its packet-ins for the takeover's replay (holdAfterMastershipMs). */
  private holdsForReplay(session: SwitchSession, now: number): boolean {
    // Without a hold nothing is ever held (holdingSince is set only with one): no WeakMap lookup per packet-in.
    if (!this.opts.holdAfterMastershipMs) return false;
    const since = this.holdingSince.get(session);
    if (since === undefined) return false;
    const limit = this.opts.holdAfterMastershipMs ?? 0;
    if (now - since < limit) return true;
    this.holdingSince.delete(session);
    this.logger.warn(`no replay ${limit} ms after ${session.role ? 'mastership' : 'the switch connected'}: packet-ins are decided as they come`, { dpid: formatDpid(session.dpid) });
    return false;
  }

  private session(dpid: bigint): SwitchSession {
    const session = this.byDpid.get(dpid);
    if (!session) throw new UnknownSwitchError(dpid);
    return session;
  }

  private createServer(target: ListenTarget): net.Server {
    const server = target.protocol === 'tcp' ? net.createServer((socket) => this.accept(socket)) : this.createTlsServer();
    // A backstop under the session limits: sessions being closed still hold their sockets for a moment.
    server.maxConnections = this.maxSwitches + this.maxHandshaking + 64;
    return server;
  }

  private createTlsServer(): tls.Server {
    const material = this.opts.tls as TlsMaterial;
    // Mutual TLS like OVS's ssl: the switch must present a certificate signed by our CA.
    const server = tls.createServer(
      {
        key: material.key, cert: material.cert, ca: material.ca, requestCert: true, rejectUnauthorized: true,
        handshakeTimeout: this.opts.session?.handshakeTimeoutMs ?? DEFAULT_SESSION_OPTIONS.handshakeTimeoutMs,
      },
      (socket) => this.accept(socket),
    );
    server.on('tlsClientError', (err, socket) => this.violations.report(`tls ${socket.remoteAddress}`, 'warn',
      `tls handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${clipReason(err.message)}`));
    return server;
  }

  private get maxHandshaking(): number {
    return this.opts.maxHandshaking ?? DEFAULT_MAX_HANDSHAKING;
  }

  private get maxSwitches(): number {
    return this.opts.maxSwitches ?? DEFAULT_MAX_SWITCHES;
  }

  /** Makes room for one more connection in the handshake by dropping the oldest one there. */
  private evictOldestHandshake(newcomer: string): void {
    const handshaking = [...this.connecting].filter((s) => s.state === 'hello' || s.state === 'handshake');
    if (handshaking.length < this.maxHandshaking) return;
    const oldest = handshaking[0];
    this.violations.report('openflow-handshaking', 'warn',
      `OpenFlow: ${this.maxHandshaking} connections still in the handshake (the limit): dropped the oldest, from ${oldest.address}, for ${newcomer}`);
    oldest.drop(`dropped: ${this.maxHandshaking} connections were still in the handshake (the limit)`);
  }

  private accept(socket: net.Socket): void {
    this.evictOldestHandshake(`${socket.remoteAddress}:${socket.remotePort}`);
    const session = new SwitchSession(socket, {
      ...DEFAULT_SESSION_OPTIONS,
      ...this.opts.session,
      logger: this.logger,
      now: this.now,
      report: (message, context) => this.violations.report(troubleKey(context), 'warn', message, context),
    });
    this.connecting.add(session);
    session.once('up', () => this.onUp(session));
    session.on('message', (msg) => this.onMessage(session, msg));
    session.once('close', (reason) => this.onClose(session, reason));
    session.on('backpressure', (blocked) => {
      if (session.state === 'up') this.emit('backpressure', session, blocked);
    });
  }

  private onUp(session: SwitchSession): void {
    const holder = this.byDpid.get(session.dpid);
    if (holder) {
      void this.contest(holder, session);
      return;
    }
    this.connecting.delete(session);
    if (this.byDpid.size >= this.maxSwitches) {
      const reason = `${this.maxSwitches} switches are connected (the limit)`;
      this.violations.report('openflow-switches', 'warn', `OpenFlow: refused switch ${formatDpid(session.dpid)} from ${session.address}: ${reason}`);
      session.close(reason);
      return;
    }
    this.byDpid.set(session.dpid, session);
    this.lastServing = undefined;
    if (this.opts.roles) this.startRole(session, this.opts.roles);
    else if (this.opts.holdAfterMastershipMs) {
      const ring = new PacketInRing();
      ring.holdFrom(this.now());
      this.held.set(session, ring);
      this.holdingSince.set(session, this.now());
    }
    this.emit('switch_up', session);
    this.runHandler(session, 'onSwitchUp', () => this.app?.onSwitchUp?.(session, this.now()));
  }

  /**
   * A second connection claims a datapath id that is up. Anyone who can reach the listener can claim any id,
   * so the established session is kept while it answers an echo (the claimant is refused and reported); only a
   * holder that no longer answers (a switch reconnecting after a silent failure) is replaced. Until then the
   * claimant drives nothing: it stays among the connecting sessions, and its messages are ignored.
   */
  private async contest(holder: SwitchSession, claimant: SwitchSession): Promise<void> {
    const probeMs = this.opts.takeoverProbeMs ?? 2000;
    const alive = await holder.request({ type: 'echo_request', xid: 0, data: Buffer.alloc(0) }, { timeoutMs: probeMs }).then(() => true, () => false);
    if (claimant.state === 'closed') return;
    const current = this.byDpid.get(claimant.dpid);
    if (current && current !== holder) return void this.contest(current, claimant); // the id changed hands meanwhile
    const conflict = { dpid: claimant.dpid, holder: holder.address, claimant: claimant.address };
    if (alive && current === holder) {
      const reason = `datapath id ${formatDpid(claimant.dpid)} is held by the live connection from ${holder.address}`;
      this.violations.report(`dpid ${formatDpid(claimant.dpid)} claim`, 'warn', `refused ${claimant.address}: ${reason}`, { dpid: formatDpid(claimant.dpid) });
      claimant.close(reason);
      this.emit('dpid_conflict', { ...conflict, kept: 'holder', reason });
      return;
    }
    const reason = `this one did not answer an echo within ${probeMs} ms`;
    holder.close(`replaced by a new connection from ${claimant.address}: ${reason}`);
    this.emit('dpid_conflict', { ...conflict, kept: 'claimant', reason });
    this.onUp(claimant);
  }

  private onClose(session: SwitchSession, reason: string): void {
    this.connecting.delete(session);
    if (session.violation) this.reportViolation(session.violation, { peer: session.address, dpid: formatDpid(session.knownDpid) });
    const dpid = session.knownDpid;
    if (dpid !== undefined && this.byDpid.get(dpid) === session) {
      this.byDpid.delete(dpid);
      this.lastServing = undefined;
      this.logger.info('switch disconnected', { dpid: formatDpid(dpid), peer: session.address, reason });
      this.emit('switch_down', dpid, reason);
      try {
        this.app?.onSwitchDown?.(dpid, this.now());
      } catch (err) {
        this.logger.error(`app onSwitchDown failed: ${(err as Error).message}`, { dpid: formatDpid(dpid) });
      }
    }
  }

  private onMessage(session: SwitchSession, msg: OfpMessage): void {
    if (session !== this.lastServing) {
      if (this.byDpid.get(session.dpid) !== session) return; // a claimant still being contested
      this.lastServing = session;
    }
    // Only when observed: emit's rest parameters are an array per message.
    if (this.listenerCount('message') > 0) this.emit('message', session, msg);
    const now = this.now();
    const role = session.role;
    switch (msg.type) {
      case 'packet_in':
        // Not master (or past the lease): nothing of its answer could leave, so the app does not decide it. It is
        // kept a moment: if this instance takes over, the old master may never have answered it. A new master keeps
        // them too until its replay (holdAfterMastershipMs), which comes once it knows what the datapath holds; so
        // does a connection without roles, from its start.
        if (role ? !(role.isMaster && this.opts.roles?.mayWrite(now) && !this.holdsForReplay(session, now)) : this.holdsForReplay(session, now)) {
          this.held.get(session)?.push(msg, now);
          break;
        }
        this.packetIn(session, msg, now);
        break;
      case 'role_reply':
        if (role) this.applyRoleStep(session, role.reply(msg, now));
        break;
      case 'onf_role_status':
        if (role) this.applyRoleStep(session, role.status(msg, now));
        break;
      case 'flow_removed':
        this.runHandler(session, 'onFlowRemoved', () => this.app?.onFlowRemoved?.(session, msg, now));
        break;
      case 'port_status':
        this.runHandler(session, 'onPortStatus', () => this.app?.onPortStatus?.(session, msg, now));
        break;
      case 'error': {
        const step = role?.error(msg, now);
        if (step) {
          this.applyRoleStep(session, step);
          break;
        }
        this.emitError(SwitchErrorReply.fromMessage(session.dpid, msg), session);
        this.runHandler(session, 'onError', () => this.app?.onError?.(session, msg, now));
        break;
      }
      default:
        break;
    }
  }

  /** Runs an app handler and sends what it returns; a throwing handler is logged, never fatal. */
  private runHandler(session: SwitchSession, name: string, handler: () => OutboundMessage[] | void | undefined): void {
    let out: OutboundMessage[] | void | undefined;
    try {
      out = handler();
    } catch (err) {
      this.logger.error(`app ${name} failed: ${(err as Error).message}`, { dpid: formatDpid(session.dpid) });
      return;
    }
    this.sendAnswer(session, name, out);
  }

  /** runHandler without a closure per packet-in (~70 bytes of each new connection's: docs/benchmarks.md, gc16). */
  private packetIn(session: SwitchSession, msg: PacketIn, now: number): void {
    let out: OutboundMessage[] | void | undefined;
    try {
      out = this.app?.onPacketIn?.(session, msg, now);
    } catch (err) {
      this.logger.error(`app onPacketIn failed: ${(err as Error).message}`, { dpid: formatDpid(session.dpid) });
      return;
    }
    this.sendAnswer(session, 'onPacketIn', out);
  }

  private sendAnswer(session: SwitchSession, name: string, out: OutboundMessage[] | void | undefined): void {
    if (!out || out.length === 0 || session.state === 'closed') return;
    try {
      session.send(out);
    } catch (err) {
      // Malformed pre-encoded output is the app's bug: logged, and the switch keeps its session.
      if (!(err instanceof PreEncodedMessageError)) throw err;
      this.logger.error(`app ${name} output not sent: ${err.message}`, { dpid: formatDpid(session.dpid) });
    }
  }

  /** 'error' has special meaning to EventEmitter (throws without a listener); emit it only when observed. */
  private emitError(err: ControllerError, sw: SwitchInfo | undefined): void {
    if (this.listenerCount('error') > 0) this.emit('error', err, sw);
  }

  /**
   * A refused peer is logged, and the 'error' event emitted, once per peer per minute (with the count since):
   * a peer that reconnects and misbehaves a thousand times a second costs a line a minute.
   */
  private reportViolation(err: ProtocolViolationError, context: Record<string, string>): void {
    if (this.violations.report(troubleKey(context), 'warn', `refused ${err.message}`, context)) this.emitError(err, undefined);
  }
}

/** Trouble is counted per switch once its datapath id is known, else per peer host (any port: reconnects are one peer). */
function troubleKey(context: Record<string, string>): string {
  if (context.dpid && context.dpid !== formatDpid(undefined)) return `dpid ${context.dpid}`;
  const peer = context.peer ?? '?';
  return `peer ${peer.slice(0, peer.lastIndexOf(':'))}`;
}
