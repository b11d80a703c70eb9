// Typed errors of the flow-setup benchmark: bad options, a controller that breaks the exchange, a child that fails.

export class FlowSetupError extends Error {
  override name = 'FlowSetupError';
}

/** An option out of range or malformed; `option` names the flag. The caller's mistake: exit 2 as a usage error. */
export class FlowSetupOptionError extends FlowSetupError {
  override name = 'FlowSetupOptionError';
  readonly code = 'usage';
  readonly oclif = { exit: 2 };
  constructor(readonly option: string, readonly problem: string) {
    super(`--${option}: ${problem}`);
  }
}

/** The controller under test did something an OpenFlow 1.3 switch cannot go along with. */
export class ControllerProtocolError extends FlowSetupError {
  override name = 'ControllerProtocolError';
  constructor(readonly dpid: bigint, problem: string) {
    super(`emulated switch ${dpid}: ${problem}`);
  }
}

/** The internal controller child process could not be started or died. */
export class InternalControllerError extends FlowSetupError {
  override name = 'InternalControllerError';
}
