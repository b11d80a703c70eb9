/** Resolves on a later turn of the event loop (after the I/O and timers that are due): long work awaits it between slices. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs a generator's steps, `perSlice` steps per turn of the event loop: work that would stall the loop for hundreds
 * of ms (a large configuration's new state) leaves room between slices for echo replies, packet-ins and timers.
 */
export async function runInSlices(steps: Iterator<unknown>, perSlice: number, turn: () => Promise<void> = nextTurn): Promise<void> {
  for (let done = 0; !steps.next().done;) {
    if (++done % perSlice === 0) await turn();
  }
}

/** Runs a generator's steps one per turn of the event loop and resolves with its result. */
export async function finishInTurns<T>(steps: Generator<void, T, undefined>, turn: () => Promise<void> = nextTurn): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await turn();
  }
}
