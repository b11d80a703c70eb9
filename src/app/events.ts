import type { VadcEvent } from '../runtime/types';

export type { VadcEvent };

/** Where the app reports what operators should know about (the daemon logs, keeps and streams them). */
export type EventSink = (event: VadcEvent) => void;
