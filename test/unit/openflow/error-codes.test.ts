// Error codes by their OpenFlow 1.3.5 spec names, so callers match a switch's refusal by name.
import { OFPERR, OFPET, OFP_ERROR_CODES, decode, encode, errorName, isOfpError, ofpErrorName } from '../../../src/openflow';
import type { ErrorMsg, OfpErrorName } from '../../../src/openflow';

const error = (errType: number, code: number): ErrorMsg => ({ type: 'error', xid: 9, errType, code, data: Buffer.alloc(0) });

describe('spec-named error codes', () => {
  it('names the role and slave refusals as the spec does', () => {
    expect(OFPERR.OFPRRFC_STALE).toEqual({ errType: OFPET.ROLE_REQUEST_FAILED, code: 0 });
    expect(OFPERR.OFPRRFC_UNSUP).toEqual({ errType: 11, code: 1 });
    expect(OFPERR.OFPRRFC_BAD_ROLE).toEqual({ errType: 11, code: 2 });
    expect(OFPERR.OFPBRC_IS_SLAVE).toEqual({ errType: OFPET.BAD_REQUEST, code: 10 });
    expect(ofpErrorName(1, 10)).toBe('OFPBRC_IS_SLAVE');
    expect(ofpErrorName(11, 0)).toBe('OFPRRFC_STALE');
    expect(errorName(11, 2)).toBe('ROLE_REQUEST_FAILED.BAD_ROLE');
  });

  it('has one name per (type, code) of the spec table, and no name for codes outside it', () => {
    const names = Object.keys(OFPERR) as OfpErrorName[];
    const total = Object.values(OFP_ERROR_CODES).reduce((n, codes) => n + codes.length, 0);
    expect(names).toHaveLength(total);
    for (const name of names) expect(ofpErrorName(OFPERR[name].errType, OFPERR[name].code)).toBe(name);
    expect(ofpErrorName(11, 3)).toBeUndefined();
    expect(ofpErrorName(14, 0)).toBeUndefined();
    expect(ofpErrorName(OFPET.EXPERIMENTER, 0)).toBeUndefined();
  });

  it('isOfpError matches a decoded error by name and nothing else', () => {
    const stale = decode(encode(error(11, 0)));
    expect(isOfpError(stale, 'OFPRRFC_STALE')).toBe(true);
    expect(isOfpError(stale, 'OFPRRFC_BAD_ROLE')).toBe(false);
    expect(isOfpError(decode(encode(error(1, 10))), 'OFPBRC_IS_SLAVE')).toBe(true);
    expect(isOfpError({ type: 'echo_reply' }, 'OFPBRC_IS_SLAVE')).toBe(false);
    // An experimenter error carries no code: it matches no spec name.
    expect(isOfpError({ type: 'error', xid: 1, errType: 0xffff, expType: 10, experimenter: 0x2320, data: Buffer.alloc(0) } as ErrorMsg, 'OFPBRC_IS_SLAVE')).toBe(false);
  });

  it('isOfpError needs the message type, the error type and the code, all three; errorName only a known type and code', () => {
    expect(isOfpError(error(2, 10), 'OFPBRC_IS_SLAVE')).toBe(false);
    expect(isOfpError(error(1, 11), 'OFPBRC_IS_SLAVE')).toBe(false);
    // An error's fields on a message that is not an error.
    expect(isOfpError({ ...error(1, 10), type: 'echo_reply' }, 'OFPBRC_IS_SLAVE')).toBe(false);
    expect(errorName(1, 10)).toBe('BAD_REQUEST.IS_SLAVE');
    expect(errorName(11, 3)).toBeUndefined();
    expect(errorName(14, 0)).toBeUndefined();
  });
});
