import { editDistance, suggestCommands } from '../../../src/cli/suggest';

const IDS = ['status', 'stats', 'start', 'conns', 'flows', 'events', 'demo', 'service:list', 'service:add', 'service:show', 'backend:drain', 'backend:add', 'backend:enable', 'help', 'version'];

describe('command suggestions for a typo', () => {
  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('stauts', 'status')).toBe(1);
    expect(editDistance('stauts', 'stats')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests status (and stats, as close) for stauts, the same-length one first', () => {
    expect(suggestCommands('stauts', IDS)).toEqual({ typed: 'stauts', ids: ['status', 'stats'] });
  });

  it('compares a topic command with as many typed words, the rest being its arguments', () => {
    expect(suggestCommands('backend:drian:web:v-vm1', IDS)).toEqual({ typed: 'backend:drian', ids: ['backend:drain'] });
    expect(suggestCommands('sevrice:lsit', IDS)).toEqual({ typed: 'sevrice:lsit', ids: ['service:list'] });
  });

  it('suggests nothing for something far from every command', () => {
    expect(suggestCommands('qwertyuiop', IDS).ids).toEqual([]);
  });
});
