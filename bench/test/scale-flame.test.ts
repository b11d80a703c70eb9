import { BenchInputError } from '../lib/realovs-stats';
import { focusStacks, foldStacks, foldedText, frameLabel, parseCpuProfile, renderFlameSvg, topInclusive, topSelf } from '../lib/scale-flame';

// root -> main -> (decide -> parse), main -> encode; (idle) under root.
const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
const profile = {
  startTime: 0, endTime: 1000,
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 6] },
    { id: 2, callFrame: frame('main', 'file:///w/bench/x.ts', 0), children: [3, 5] },
    { id: 3, callFrame: frame('decide', 'file:///w/src/controller/app/lb-app.ts', 390), children: [4] },
    { id: 4, callFrame: frame('parse', 'file:///w/src/flows/packets.ts', 50) },
    { id: 5, callFrame: frame('encode', 'node:internal/x', 9) },
    { id: 6, callFrame: frame('(idle)') },
  ],
  samples: [4, 4, 4, 3, 5, 6, 6, 6, 6],
};

describe('cpuprofile folding', () => {
  const folded = foldStacks(parseCpuProfile(JSON.stringify(profile)));

  it('labels frames by name and source path below src/', () => {
    expect(frameLabel(frame('decide', 'file:///w/src/controller/app/lb-app.ts', 390))).toBe('decide src/controller/app/lb-app.ts:391');
    expect(frameLabel(frame('', 'file:///w/bench/x.ts', 0))).toBe('(anonymous) x.ts:1');
    expect(frameLabel(frame('(garbage collector)'))).toBe('(garbage collector)');
  });

  it('folds samples into root-first stacks and leaves out (root) and (idle)', () => {
    expect([...folded].sort()).toEqual([
      ['main x.ts:1;decide src/controller/app/lb-app.ts:391', 1],
      ['main x.ts:1;decide src/controller/app/lb-app.ts:391;parse src/flows/packets.ts:51', 3],
      ['main x.ts:1;encode x:10', 1],
    ]);
    expect(foldedText(folded).split('\n')[0]).toBe('main x.ts:1;decide src/controller/app/lb-app.ts:391;parse src/flows/packets.ts:51 3');
  });

  it('focuses on the stacks through one frame, re-rooted there', () => {
    expect([...focusStacks(folded, 'decide')].sort()).toEqual([
      ['decide src/controller/app/lb-app.ts:391', 1],
      ['decide src/controller/app/lb-app.ts:391;parse src/flows/packets.ts:51', 3],
    ]);
  });

  it('ranks self and inclusive time', () => {
    expect(topSelf(folded, 2)).toEqual([
      { frame: 'parse src/flows/packets.ts:51', samples: 3, percent: 60 },
      { frame: 'decide src/controller/app/lb-app.ts:391', samples: 1, percent: 20 },
    ]);
    expect(topInclusive(folded, 2).map((c) => [c.frame, c.samples])).toEqual([['main x.ts:1', 5], ['decide src/controller/app/lb-app.ts:391', 4]]);
  });

  it('draws one box per frame, widths proportional to samples, names escaped', () => {
    const svg = renderFlameSvg(new Map([['a<b>;c', 3], ['a<b>', 1]]), { title: 'T & U', width: 400 });
    expect(svg).toContain('<title>a&lt;b&gt; (4 samples, 100.00%)</title>');
    expect(svg).toContain('<title>c (3 samples, 75.00%)</title>');
    expect(svg).toMatch(/<title>all \(4 samples[^]*width="400.00"/);
    expect(svg).toContain('width="300.00"');
    expect(svg).toContain('T &amp; U');
  });

  it('refuses what is not a profile, and a graph without samples', () => {
    expect(() => parseCpuProfile('{}')).toThrow(/no nodes/);
    expect(() => parseCpuProfile('nope')).toThrow(BenchInputError);
    expect(() => renderFlameSvg(new Map(), { title: 'x' })).toThrow(/no busy samples/);
  });
});
