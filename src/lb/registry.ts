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

const FACTORIES: Record<SchedulerName, (opts: SchedulerOptions) => Scheduler> = {
  rr: () => new RoundRobinScheduler(),
  wrr: () => new WeightedRoundRobinScheduler(),
  lc: () => new LeastConnectionScheduler(),
  wlc: () => new WeightedLeastConnectionScheduler(),
  sed: () => new ShortestExpectedDelayScheduler(),
  nq: () => new NeverQueueScheduler(),
  lblc: (o) => new LocalityLeastConnectionScheduler(o.locality),
  lblcr: (o) => new LocalityReplicatedScheduler(o.locality),
  dh: () => new DestinationHashScheduler(),
  sh: (o) => new SourceHashScheduler(o.sh),
  mh: (o) => new MaglevScheduler(o.mh),
  feedback: (o) => new FeedbackScheduler(o.feedback),
};

export function isSchedulerName(name: string): name is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(name);
}

/** A fresh scheduler instance (each service owns its own state). */
export function createScheduler(name: string, opts: SchedulerOptions = {}): Scheduler {
  if (!isSchedulerName(name)) {
    throw new LbInputError('scheduler', `unknown scheduler ${JSON.stringify(name)}; expected one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  return FACTORIES[name](opts);
}
