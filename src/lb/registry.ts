import { LbInputError } from './errors';
import { SCHEDULER_NAMES, Scheduler, SchedulerName } from './scheduler';
import { FeedbackOptions, FeedbackScheduler } from './schedulers/feedback';
import { DestinationHashScheduler, SourceHashOptions, SourceHashScheduler } from './schedulers/hashing';
import {
  LeastConnectionScheduler, NeverQueueScheduler, ShortestExpectedDelayScheduler, WeightedLeastConnectionScheduler,
} from './schedulers/least';
import { LocalityLeastConnectionScheduler, LocalityOptions, LocalityReplicatedScheduler } from './schedulers/locality';
import { MaglevOptions, MaglevScheduler } from './schedulers/maglev';
import { RoundRobinScheduler } from './schedulers/rr';
import { WeightedRoundRobinScheduler } from './schedulers/wrr';

/** Per-scheduler settings; each scheduler reads only its own section. */
export interface SchedulerOptions {
  sh?: SourceHashOptions;
  mh?: MaglevOptions;
  locality?: LocalityOptions;
  feedback?: FeedbackOptions;
}

/**
 * Each scheduler once: how to make one, and whether its choices read live connection counts or connection times
 * (`readsConnectionEnds`), so that a connection's end must reach vadc as it happens (a FIN copy, `datapath.end_copies`)
 * rather than at the next datapath reading. The least-connection family compares overheads (lc, wlc, sed, nq) or
 * active counts (lblc, lblcr's overload test); feedback times connections and counts the outstanding ones. rr, wrr,
 * dh, sh and mh read weights, health and OVERLOAD only (OVERLOAD is the backends' thresholds' concern, not theirs).
 */
const SCHEDULERS: Record<SchedulerName, { create: (opts: SchedulerOptions) => Scheduler; readsConnectionEnds: boolean }> = {
  rr: { create: () => new RoundRobinScheduler(), readsConnectionEnds: false },
  wrr: { create: () => new WeightedRoundRobinScheduler(), readsConnectionEnds: false },
  lc: { create: () => new LeastConnectionScheduler(), readsConnectionEnds: true },
  wlc: { create: () => new WeightedLeastConnectionScheduler(), readsConnectionEnds: true },
  sed: { create: () => new ShortestExpectedDelayScheduler(), readsConnectionEnds: true },
  nq: { create: () => new NeverQueueScheduler(), readsConnectionEnds: true },
  lblc: { create: (o) => new LocalityLeastConnectionScheduler(o.locality), readsConnectionEnds: true },
  lblcr: { create: (o) => new LocalityReplicatedScheduler(o.locality), readsConnectionEnds: true },
  dh: { create: () => new DestinationHashScheduler(), readsConnectionEnds: false },
  sh: { create: (o) => new SourceHashScheduler(o.sh), readsConnectionEnds: false },
  mh: { create: (o) => new MaglevScheduler(o.mh), readsConnectionEnds: false },
  feedback: { create: (o) => new FeedbackScheduler(o.feedback), readsConnectionEnds: true },
};

/** Whether the named scheduler's choices read connection counts or times, which a connection's end changes. */
export function schedulerReadsConnectionEnds(name: SchedulerName): boolean {
  return SCHEDULERS[name].readsConnectionEnds;
}

export function isSchedulerName(name: string): name is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(name);
}

/** A fresh scheduler instance (each service owns its own state). */
export function createScheduler(name: string, opts: SchedulerOptions = {}): Scheduler {
  if (!isSchedulerName(name)) {
    throw new LbInputError('scheduler', `unknown scheduler ${JSON.stringify(name)}; expected one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  return SCHEDULERS[name].create(opts);
}
