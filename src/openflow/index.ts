// Public API of the OpenFlow 1.3 codec: types, constants, encode/decode and the stream framer.
export * from './types';
export * from './constants';
export { OFPERR, OFPET, OFP_ERROR_CODES, errorName, isOfpError, ofpErrorName } from './error-codes';
export type { OfpErrorCode, OfpErrorName } from './error-codes';
export { encode, decode, decodeHeader } from './codec';
export { OfpDecodeError, OfpEncodeError, OfpFramingError } from './errors';
export { OfpFramer } from './framer';
export type { FramedItem, FramerOptions } from './framer';
export { compileLayout, OfpLayoutError } from './layout';
export type { MessageLayout, SlotSpec, SlotSpecs } from './layout';
export { formatDpid } from './dpid';
