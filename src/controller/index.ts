// Public API of the OpenFlow controller runtime: the listener, per-switch sessions and the app interface.
export { Controller } from './controller';
export type { ControllerEvents, ControllerOptions, DpidConflict, TlsMaterial } from './controller';
export { DEFAULT_SESSION_OPTIONS, SwitchSession } from './session';
export type { SessionOptions, SessionState } from './session';
export {
  ControllerError, PreEncodedMessageError, ProtocolViolationError, RequestAbortedError, RequestTimeoutError, SessionClosedError,
  SwitchErrorReply, UnknownSwitchError, MissingTlsMaterialError,
} from './errors';
export { formatDpid } from '../openflow/dpid';
export { DEFAULT_OPENFLOW_PORT, InvalidListenTargetError, formatListenTarget, insecureListenerWarning, parseListenTarget } from './target';
export type { ListenTarget } from './target';
export type {
  ControllerApp, OutboundMessage, PreEncodedMessages, ReplyTo, RequestMessage, RequestOptions, SwitchCounters, SwitchInfo,
} from './types';
export { PACKET_IN_RING_BOUNDS, PacketInRing, REPLAY_CLIENTS_LISTED, replayHeld } from './packet-in-ring';
export type { HeldPacketIn, HeldVerdict, PacketInRingBounds, ReplayReport, TakenPacketIns } from './packet-in-ring';
