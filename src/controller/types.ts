import type {
  BarrierReply, BarrierRequest, EchoReply, EchoRequest, ErrorMsg, FeaturesReply, FeaturesRequest, FlowRemoved,
  GetAsyncReply, GetAsyncRequest, GetConfigReply, GetConfigRequest, MultipartReply, MultipartRequest, OfpMessage,
  OfpPort, PacketIn, PortStatus, QueueGetConfigReply, QueueGetConfigRequest, RoleReply, RoleRequest,
} from '../openflow';
import type { RoleMachine, WantedRole } from './role';

/** Per-switch traffic counters, for status output and metrics. */
export interface SwitchCounters {
  packetIns: number;
  flowModsSent: number;
  errorsReceived: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Messages not sent because the connection was not master (controller roles). */
  withheld: number;
}

/** What an application may know about a connected switch (read-only view of its session). */
export interface SwitchInfo {
  readonly dpid: bigint;
  /** 'host:port' of the switch's end of the connection. */
  readonly address: string;
  readonly connectedAt: number;
  readonly features: FeaturesReply;
  /** Port table from port_desc, kept current by port_status; keyed by OpenFlow port number. */
  readonly ports: ReadonlyMap<number, OfpPort>;
  readonly counters: Readonly<SwitchCounters>;
  /** This connection's OpenFlow role, when the controller runs with roles (an election). */
  readonly role?: Readonly<Pick<RoleMachine, 'state' | 'generation' | 'since' | 'isMaster'>>;
}

/**
 * Whole OpenFlow messages an app encoded itself (e.g. from pre-encoded flow-mod templates, on the packet-in
 * fast path), back to back in `bytes`. A message whose xid is 0 gets a fresh xid from the session, as an
 * object message does. `messages` and `flowMods` say what the bytes hold (the session checks the count).
 */
export interface PreEncodedMessages {
  readonly type: 'pre_encoded';
  readonly bytes: Buffer;
  readonly messages: number;
  readonly flowMods: number;
}

/** What an app hands the runtime to send: codec messages, or bytes it encoded itself. */
export type OutboundMessage = OfpMessage | PreEncodedMessages;

/**
 * A Faucet-style application: handlers get the decoded message and `now` (ms) and return the
 * messages to send to that switch, in order. They do no I/O themselves.
 */
export interface ControllerApp {
  onSwitchUp?(sw: SwitchInfo, now: number): OutboundMessage[] | void;
  onSwitchDown?(dpid: bigint, now: number): void;
  onPacketIn?(sw: SwitchInfo, msg: PacketIn, now: number): OutboundMessage[] | void;
  onFlowRemoved?(sw: SwitchInfo, msg: FlowRemoved, now: number): OutboundMessage[] | void;
  onPortStatus?(sw: SwitchInfo, msg: PortStatus, now: number): OutboundMessage[] | void;
  /**
   * With controller roles: this connection became master (a lone instance at once, a standby on takeover).
   * The app (re)installs what it needs; nothing it returned while not master was sent.
   */
  onMastership?(sw: SwitchInfo, now: number): OutboundMessage[] | void;
  /** An OFPT_ERROR that answers no outstanding request (e.g. a rejected flow_mod). */
  onError?(sw: SwitchInfo, msg: ErrorMsg, now: number): OutboundMessage[] | void;
}

/** The request messages that have a reply, and the reply each gets. */
export interface ReplyByRequest {
  features_request: FeaturesReply;
  get_config_request: GetConfigReply;
  multipart_request: MultipartReply;
  barrier_request: BarrierReply;
  echo_request: EchoReply;
  queue_get_config_request: QueueGetConfigReply;
  role_request: RoleReply;
  get_async_request: GetAsyncReply;
}

export type RequestMessage =
  | FeaturesRequest | GetConfigRequest | MultipartRequest | BarrierRequest | EchoRequest | QueueGetConfigRequest
  | RoleRequest | GetAsyncRequest;

export type ReplyTo<T extends RequestMessage> = ReplyByRequest[T['type']];

export const REPLY_TYPE: { readonly [K in keyof ReplyByRequest]: ReplyByRequest[K]['type'] } = {
  features_request: 'features_reply',
  get_config_request: 'get_config_reply',
  multipart_request: 'multipart_reply',
  barrier_request: 'barrier_reply',
  echo_request: 'echo_reply',
  queue_get_config_request: 'queue_get_config_reply',
  role_request: 'role_reply',
  get_async_request: 'get_async_reply',
};

export interface RequestOptions {
  /** Default: the session's requestTimeoutMs. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Who decides this controller's OpenFlow role (an election): what it wants now, and whether a master may write
 * at `now` (a lease: a master that was paused past it writes nothing until the election has confirmed it).
 */
export interface RoleAuthority {
  wanted(): WantedRole;
  mayWrite(now: number): boolean;
}

/** PEM material for 'ssl:' targets: our certificate and key, and the CA that signed the switches' certificates. */
export interface TlsMaterial {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}
