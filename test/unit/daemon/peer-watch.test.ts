// Issue 14: a master says when its standby stops answering the heartbeat, and when one is there again.
import type { ElectionStatus } from '../../../src/daemon/election';
import { PeerWatch } from '../../../src/daemon/peer-watch';

const status = (role: 'master' | 'standby', peer?: string): ElectionStatus => ({
  election: 'host', role, generation: '3', instance: '1@tcp:127.0.0.1:6653', key: 'k', where: '/d', ...(peer ? { peer } : {}),
});

describe('PeerWatch', () => {
  it('a master: the standby seen, lost, and another seen, each said once', () => {
    const w = new PeerWatch();
    expect(w.observe(status('master'))).toBeUndefined(); // alone from the start: nothing was lost
    expect(w.observe(status('master', 'b1'))).toMatchObject({ kind: 'peer_seen', level: 'info', data: { peer: 'b1' }, message: 'standby b1 is there' });
    expect(w.observe(status('master', 'b1'))).toBeUndefined();
    const lost = w.observe(status('master'));
    expect(lost).toMatchObject({ kind: 'peer_lost', level: 'warn', data: { peer: 'b1' } });
    expect(lost!.message).toMatch(/^no standby: b1 has stopped answering the heartbeat/);
    expect(w.observe(status('master'))).toBeUndefined();
    expect(w.observe(status('master', 'b2'))).toMatchObject({ kind: 'peer_seen', data: { peer: 'b2' } });
    expect(w.observe(status('master', 'b3'))).toMatchObject({ kind: 'peer_seen', data: { peer: 'b3', was: 'b2' }, message: 'standby b3 is there (in place of b2)' });
  });

  it('a standby says nothing (its peer is the master, whose silence the election acts on); promoted, it starts afresh', () => {
    const w = new PeerWatch();
    expect(w.observe(status('standby', 'm1'))).toBeUndefined();
    expect(w.observe(status('standby'))).toBeUndefined();
    expect(w.observe(status('master', 'b1'))).toMatchObject({ kind: 'peer_seen' });
    expect(w.observe(status('standby', 'b1'))).toBeUndefined(); // fenced: b1 is its master now
    expect(w.observe(status('master'))).toBeUndefined(); // master again, alone: not a loss it saw
  });
});
