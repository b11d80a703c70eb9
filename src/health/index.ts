export * from './types';
export * from './errors';
export { runProcess, describeEnd, findExecutableProblem, type ProcessRequest, type ProcessOutcome, type ProcessEnd } from './process';
export { runCheck, validateCheckSpec, statusAccepted, checkTcp, checkHttp, checkUdp, checkScript, type Checker } from './checks';
export * from './events';
export * from './backend-health';
export * from './tiers';
export * from './launch';
