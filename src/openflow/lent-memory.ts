// A message whose memory a pool lends (src/flows/memory-view.ts's slabs) and the writer that gives it back once its
// bytes are sent (src/controller/write-batcher.ts). Here, beside the codec, because both of those parts may import it.

/** Who lent a message's memory: told once, when the message's bytes will not be read again. */
export interface MemoryOwner {
  release(): void;
}

/**
 * A message that may carry its lender: `memoryOwner` is set by whoever cut it and cleared by its first release; a view
 * made of it (subarray) has none, so releasing that does nothing.
 */
export type OwnedMessage = Uint8Array & { memoryOwner?: MemoryOwner };

/** Whether `message` still has a lender to give it back to. */
export function isLent(message: Uint8Array): boolean {
  return (message as OwnedMessage).memoryOwner !== undefined;
}

/**
 * Gives a message back to whoever lent its memory: its bytes may be written over afterwards. Call it once the
 * message's bytes will not be read again (a socket's write callback), and only as the message's one owner; a second
 * release of the same message does nothing, and so does releasing any other Buffer.
 */
export function releaseMessage(message: Uint8Array): void {
  const owned = message as OwnedMessage;
  const owner = owned.memoryOwner;
  if (owner === undefined) return;
  owned.memoryOwner = undefined;
  owner.release();
}
