import * as constants from '../../../src/openflow/constants';

describe('openflow/constants', () => {
  // A re-export (`export { X } from './y'`) compiles to an accessor on the module's exports; V8 then keeps these 100+
  // exports in dictionary mode, and every constant read in optimized code (OFP_HEADER_LEN in decode, in the
  // session's enqueuePreEncoded) becomes a LoadIC call: ~450 instructions per packet-in (docs/benchmarks.md).
  it('exports plain values only, no re-exported accessors', () => {
    const accessors = Object.entries(Object.getOwnPropertyDescriptors(constants)).filter(([, d]) => d.get !== undefined || d.set !== undefined).map(([name]) => name);
    expect(accessors).toEqual([]);
    expect(constants.OFP_HEADER_LEN).toBe(8);
  });
});
