// Typed codec errors. Decode errors name the message type, the byte offset inside the message and the reason.

export class OfpDecodeError extends Error {
  override readonly name = 'OfpDecodeError';
  /** Message type name (e.g. 'flow_mod'), or the raw type number when it is not a known type. */
  msgType: string | number;
  constructor(
    readonly reason: string,
    readonly offset: number,
    msgType: string | number = 'unknown',
  ) {
    super(`${reason} at offset ${offset}`);
    this.msgType = msgType;
    this.message = OfpDecodeError.describe(msgType, offset, reason);
  }

  /** Sets the message type once the top level knows it (inner decoders do not). */
  withMessageType(msgType: string | number): this {
    this.msgType = msgType;
    this.message = OfpDecodeError.describe(msgType, this.offset, this.reason);
    return this;
  }

  private static describe(msgType: string | number, offset: number, reason: string): string {
    return `cannot decode OpenFlow ${msgType} message: ${reason} (offset ${offset})`;
  }
}

export class OfpEncodeError extends Error {
  override readonly name = 'OfpEncodeError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot encode OpenFlow ${path}: ${reason}`);
  }
}

/** A framing problem in a byte stream (bad version/length); the framer reports it and carries on when it can. */
export class OfpFramingError extends Error {
  override readonly name = 'OfpFramingError';
  constructor(
    readonly reason: string,
    /** Offset of the bad header in the stream since the framer was created. */
    readonly streamOffset: number,
  ) {
    super(`OpenFlow framing error at stream offset ${streamOffset}: ${reason}`);
  }
}
