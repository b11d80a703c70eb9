// The fuzz engine's progress lines (VADC_FUZZ_PROGRESS): a long local run stopped early must say how far it got.
import { fuzz } from '../../helpers/fuzz';

describe('fuzz progress lines', () => {
  const saved = process.env.VADC_FUZZ_PROGRESS;
  afterEach(() => {
    if (saved === undefined) delete process.env.VADC_FUZZ_PROGRESS;
    else process.env.VADC_FUZZ_PROGRESS = saved;
    jest.restoreAllMocks();
  });

  const run = (): string[] => {
    const lines: string[] = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    fuzz({ iterations: 7, seed: 42, input: (_r, i) => i, check: (i) => (i % 2 ? 'odd' : 'even') });
    return lines;
  };

  it('writes one line every N inputs with the seed and the outcomes so far', () => {
    process.env.VADC_FUZZ_PROGRESS = '3';
    const lines = run();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^fuzz seed 42: 3 inputs so far: even 2, odd 1 \(of 7, \d+ s\)\n$/);
    expect(lines[1]).toMatch(/^fuzz seed 42: 6 inputs so far: even 3, odd 3 \(of 7, \d+ s\)\n$/);
  });

  it.each([undefined, '0', '-5', 'many'])('writes nothing when VADC_FUZZ_PROGRESS is %p', (value) => {
    if (value === undefined) delete process.env.VADC_FUZZ_PROGRESS;
    else process.env.VADC_FUZZ_PROGRESS = value;
    expect(run()).toEqual([]);
  });
});
