// OpenFlow 1.3.5 error types and codes (spec 7.4.4), declared once: each type's number, the prefix of its codes'
// spec names and the codes in order (a code is its index). Callers match a switch's error by the spec name,
// e.g. isOfpError(msg, 'OFPRRFC_STALE') or isOfpError(msg, 'OFPBRC_IS_SLAVE').
import type { ErrorMsg } from './types';

const ERROR_TYPES = {
  HELLO_FAILED: { errType: 0, prefix: 'OFPHFC', codes: ['INCOMPATIBLE', 'EPERM'] },
  BAD_REQUEST: {
    errType: 1, prefix: 'OFPBRC', codes: ['BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE',
      'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT', 'BAD_PACKET',
      'MULTIPART_BUFFER_OVERFLOW'],
  },
  BAD_ACTION: {
    errType: 2, prefix: 'OFPBAC', codes: ['BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT',
      'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER',
      'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT'],
  },
  BAD_INSTRUCTION: {
    errType: 3, prefix: 'OFPBIC', codes: ['UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA',
      'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM'],
  },
  BAD_MATCH: {
    errType: 4, prefix: 'OFPBMC', codes: ['BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK',
      'BAD_WILDCARDS', 'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM'],
  },
  FLOW_MOD_FAILED: {
    errType: 5, prefix: 'OFPFMFC', codes: ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT',
      'BAD_COMMAND', 'BAD_FLAGS'],
  },
  GROUP_MOD_FAILED: {
    errType: 6, prefix: 'OFPGMFC', codes: ['GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS',
      'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED', 'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP',
      'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM'],
  },
  PORT_MOD_FAILED: { errType: 7, prefix: 'OFPPMFC', codes: ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM'] },
  TABLE_MOD_FAILED: { errType: 8, prefix: 'OFPTMFC', codes: ['BAD_TABLE', 'BAD_CONFIG', 'EPERM'] },
  QUEUE_OP_FAILED: { errType: 9, prefix: 'OFPQOFC', codes: ['BAD_PORT', 'BAD_QUEUE', 'EPERM'] },
  SWITCH_CONFIG_FAILED: { errType: 10, prefix: 'OFPSCFC', codes: ['BAD_FLAGS', 'BAD_LEN', 'EPERM'] },
  ROLE_REQUEST_FAILED: { errType: 11, prefix: 'OFPRRFC', codes: ['STALE', 'UNSUP', 'BAD_ROLE'] },
  METER_MOD_FAILED: {
    errType: 12, prefix: 'OFPMMFC', codes: ['UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND',
      'BAD_FLAGS', 'BAD_RATE', 'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS'],
  },
  TABLE_FEATURES_FAILED: {
    errType: 13, prefix: 'OFPTFFC', codes: ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM'],
  },
} as const;

type ErrorTypes = typeof ERROR_TYPES;
/** A code's spec name, e.g. 'OFPRRFC_STALE', 'OFPBRC_IS_SLAVE'. */
export type OfpErrorName = { [T in keyof ErrorTypes]: `${ErrorTypes[T]['prefix']}_${ErrorTypes[T]['codes'][number]}` }[keyof ErrorTypes];
export interface OfpErrorCode { errType: number; code: number }

// Error types (ofp_error_type)
export const OFPET = {
  ...Object.fromEntries(Object.entries(ERROR_TYPES).map(([name, t]) => [name, t.errType])) as { [T in keyof ErrorTypes]: ErrorTypes[T]['errType'] },
  EXPERIMENTER: 0xffff,
} as const;

/** Error codes per error type, in spec order (the code is the index). */
export const OFP_ERROR_CODES: Readonly<Record<number, readonly string[]>> = Object.fromEntries(
  Object.values(ERROR_TYPES).map((t) => [t.errType, t.codes]));

/** Every error code by its spec name: OFPERR.OFPRRFC_STALE is { errType: 11, code: 0 }. */
export const OFPERR: Readonly<Record<OfpErrorName, Readonly<OfpErrorCode>>> = Object.fromEntries(
  Object.values(ERROR_TYPES).flatMap((t) => t.codes.map((c, code) => [`${t.prefix}_${c}`, Object.freeze({ errType: t.errType, code })])),
) as Record<OfpErrorName, OfpErrorCode>;

const nameByKey = new Map<number, OfpErrorName>(
  Object.entries(OFPERR).map(([name, e]) => [(e.errType << 16) | e.code, name as OfpErrorName]));

/** The spec name of an error type/code pair ('OFPBRC_IS_SLAVE'); undefined for codes the spec does not define. */
export function ofpErrorName(errType: number, code: number): OfpErrorName | undefined {
  return nameByKey.get(((errType & 0xffff) << 16) | (code & 0xffff));
}

/** True when the message is an OFPT_ERROR with exactly this spec-named type and code. */
export function isOfpError(msg: { type: string }, name: OfpErrorName): msg is ErrorMsg {
  const want = OFPERR[name];
  return msg.type === 'error' && (msg as ErrorMsg).errType === want.errType && (msg as ErrorMsg).code === want.code;
}

/** Symbolic name of an error type/code pair, e.g. 'BAD_REQUEST.BAD_TYPE'; undefined when not in the spec. */
export function errorName(errType: number, code: number): string | undefined {
  const type = Object.entries(ERROR_TYPES).find(([, t]) => t.errType === errType);
  const codeName = (type?.[1].codes as readonly string[] | undefined)?.[code];
  return type && codeName ? `${type[0]}.${codeName}` : undefined;
}
