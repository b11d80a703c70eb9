import { lastCountLine } from '../lib/realovs-scripts';

describe('lastCountLine', () => {
  it('takes the last line of the word asked for, as numbers, and nothing before the first', () => {
    const out = 'ready\nHELD 12500 3\nOPEN 12497\nOPEN 12496\nSERVING 7\n';
    expect(lastCountLine(out, 'HELD')).toEqual([12500, 3]);
    expect(lastCountLine(out, 'OPEN')).toEqual([12496]);
    expect(lastCountLine(out, 'SERVING')).toEqual([7]);
    expect(lastCountLine('ready\n', 'OPEN')).toBeUndefined();
  });

  it('ignores a line cut short at the start of the kept tail and words inside other lines', () => {
    expect(lastCountLine('PEN 5\nnot OPEN 9\nOPEN 4\nOPEN 1x\n', 'OPEN')).toEqual([4]);
  });
});
