// A master's standby, watched (controller HA, docs/operators/run-a-pair.md). A pair is only as good as its standby:
// one that died, hangs (no heartbeat answered) or never came leaves the next failure of the master to a restart.
// The election's status names the standby it saw lately (its heartbeat, within the election's look-back); this turns
// that standby's going and coming into events, said once each, instead of leaving it for someone to spot in status.
import type { VadcEvent } from '../runtime/types';
import type { ElectionStatus } from './election';

export type PeerEvent = Omit<VadcEvent, 'time'> & { kind: 'peer_lost' | 'peer_seen' };

export class PeerWatch {
  /** The standby a master last saw; undefined while standby (its peer is the master, watched by the election). */
  private seen?: string;

  /** The election's status now; an event when the master's standby went away or (another) came. */
  observe(status: ElectionStatus): PeerEvent | undefined {
    if (status.role !== 'master') {
      this.seen = undefined;
      return undefined;
    }
    const peer = status.peer;
    if (peer === this.seen) return undefined;
    const was = this.seen;
    this.seen = peer;
    if (peer === undefined) {
      return {
        kind: 'peer_lost', level: 'warn', data: { peer: was },
        message: `no standby: ${was} has stopped answering the heartbeat (dead, hung or stopped); until one is back a failure of this master leaves new connections unanswered until it restarts`,
      };
    }
    return { kind: 'peer_seen', level: 'info', data: { peer, ...(was ? { was } : {}) }, message: `standby ${peer} is there${was ? ` (in place of ${was})` : ''}` };
  }
}
