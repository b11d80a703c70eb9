import type { ControllerApp, OutboundMessage } from '../controller/types';
import type { LoadBalancerApp } from './app';
import type { SwitchBatch } from './outbox';

/**
 * The app as the controller runtime calls it: each handler returns its own switch's messages (they go out in
 * the handler's write, in order) and hands the other switches' batches to `sendTo`.
 */
/**
 * `readingWanted`: an end copy asks for an accounting reading now (its port's refusals await the successes a reading
 * would show: LoadBalancerApp.takeReadingWanted).
 */
export function asControllerApp(
  app: LoadBalancerApp, sendTo: (dpid: bigint, msgs: OutboundMessage[]) => void, readingWanted: () => void = () => undefined,
): Required<Omit<ControllerApp, 'onError'>> {
  const answer = (batches: SwitchBatch[], dpid: bigint): OutboundMessage[] => {
    let mine: OutboundMessage[] = [];
    for (const batch of batches) {
      if (batch.dpid === dpid) mine = batch.msgs;
      else sendTo(batch.dpid, batch.msgs);
    }
    return mine;
  };
  return {
    onSwitchUp: (sw, now) => answer(app.switchUp(sw, now), sw.dpid),
    // A standby's app knew the switch (locations, health) but nothing it sent left: install it all again.
    onMastership: (sw, now) => answer(app.switchUp(sw, now), sw.dpid),
    onSwitchDown: (dpid, now) => {
      for (const batch of app.switchDown(dpid, now)) sendTo(batch.dpid, batch.msgs);
    },
    onPacketIn: (sw, msg, now) => {
      const out = app.packetInEncoded(sw, msg, now);
      // An end copy that ejected or re-admitted a port: the flows and groups follow it now.
      const changed = app.outlierFlush();
      if (app.takeReadingWanted()) readingWanted();
      return changed.length === 0 ? out : [...out, ...answer(changed, sw.dpid)];
    },
    onFlowRemoved: (sw, msg, now) => answer(app.flowRemoved(sw, msg, now), sw.dpid),
    onPortStatus: (sw, msg, now) => answer(app.portStatus(sw, msg, now), sw.dpid),
  };
}
