import {
  JsonRpcSession,
  OvsdbCancelledError,
  OvsdbClosedError,
  OvsdbProtocolError,
  OvsdbRpcError,
  OvsdbTimeoutError,
} from '../../../src/ovsdb';
import { FakePeer, duplexPair } from './fake-peer';

function setup(opts = {}): { session: JsonRpcSession; peer: FakePeer } {
  const [clientEnd, serverEnd] = duplexPair();
  return { session: new JsonRpcSession(clientEnd, { probeIntervalMs: 0, ...opts }), peer: new FakePeer(serverEnd) };
}

const byMethod = (method: string) => (m: Record<string, unknown>) => m.method === method;

describe('JsonRpcSession', () => {
  test('matches responses to requests by id, in any order', async () => {
    const { session, peer } = setup();
    const first = session.request('list_dbs', []);
    const second = session.request('get_schema', ['Open_vSwitch']);
    const a = await peer.next(byMethod('list_dbs'));
    const b = await peer.next(byMethod('get_schema'));
    expect(a.params).toEqual([]);
    expect(b.params).toEqual(['Open_vSwitch']);
    peer.send({ id: b.id, result: { name: 'Open_vSwitch' }, error: null });
    peer.send({ id: a.id, result: ['Open_vSwitch'], error: null });
    await expect(first).resolves.toEqual(['Open_vSwitch']);
    await expect(second).resolves.toEqual({ name: 'Open_vSwitch' });
    session.close();
  });

  test('a JSON-RPC error becomes OvsdbRpcError with the server text', async () => {
    const { session, peer } = setup();
    const pending = session.request('get_schema', ['Nope']);
    const req = await peer.next(byMethod('get_schema'));
    peer.send({ id: req.id, result: null, error: { error: 'unknown database', details: 'get_schema request specifies unknown database Nope' } });
    await expect(pending).rejects.toBeInstanceOf(OvsdbRpcError);
    await expect(pending).rejects.toMatchObject({ serverError: 'unknown database', details: expect.stringContaining('Nope') });
    session.close();
  });

  test('answers the server echo with the same params and id', async () => {
    const { session, peer } = setup();
    peer.send({ method: 'echo', params: ['ping', 1], id: 'echo' });
    const reply = await peer.next((m) => m.id === 'echo');
    expect(reply).toEqual({ result: ['ping', 1], error: null, id: 'echo' });
    peer.send({ method: 'frobnicate', params: [], id: 7 });
    expect(await peer.next((m) => m.id === 7)).toMatchObject({ error: 'unknown method' });
    session.close();
  });

  test('delivers notifications', async () => {
    const { session, peer } = setup();
    const got = new Promise((resolve) => session.on('notification', (method, params) => resolve([method, params])));
    peer.send({ method: 'update', params: ['m1', {}], id: null });
    await expect(got).resolves.toEqual(['update', ['m1', {}]]);
    session.close();
  });

  test('a request without an answer times out; a late answer is ignored', async () => {
    const { session, peer } = setup();
    const pending = session.request('transact', ['Open_vSwitch'], { timeoutMs: 20 });
    await expect(pending).rejects.toBeInstanceOf(OvsdbTimeoutError);
    const req = await peer.next(byMethod('transact'));
    peer.send({ id: req.id, result: [], error: null });
    const next = session.request('list_dbs', []);
    const listReq = await peer.next(byMethod('list_dbs'));
    peer.send({ id: listReq.id, result: ['Open_vSwitch'], error: null });
    await expect(next).resolves.toEqual(['Open_vSwitch']);
    expect(session.closed).toBe(false);
    session.close();
  });

  test('cancelling rejects locally and sends an RFC 7047 cancel notification', async () => {
    const { session, peer } = setup();
    const controller = new AbortController();
    const pending = session.request('transact', ['Open_vSwitch', { op: 'wait' }], { signal: controller.signal });
    const req = await peer.next(byMethod('transact'));
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OvsdbCancelledError);
    expect(await peer.next(byMethod('cancel'))).toEqual({ method: 'cancel', params: [req.id], id: null });
    session.close();
  });

  test('closing fails outstanding requests and later ones', async () => {
    const { session } = setup();
    const pending = session.request('list_dbs', []);
    session.close('test over');
    await expect(pending).rejects.toThrow(new OvsdbClosedError('test over').message);
    await expect(session.request('list_dbs', [])).rejects.toBeInstanceOf(OvsdbClosedError);
  });

  test.each([
    ['bad JSON', '{"id":1,,}', 'invalid JSON'],
    ['a non-object message', '[1,2]', 'expected a JSON-RPC object'],
    ['a request without params', '{"method":"update","id":null}', 'without a params array'],
    ['neither request nor response', '{"hello":1}', 'neither request nor response'],
  ])('%s closes the session with a protocol error', async (_, text, reason) => {
    const { session, peer } = setup();
    const pending = session.request('list_dbs', []);
    const closed = new Promise((resolve) => session.on('close', resolve));
    peer.send(text);
    await expect(pending).rejects.toBeInstanceOf(OvsdbProtocolError);
    await expect(closed).resolves.toMatchObject({ reason: expect.stringContaining(reason) });
  });

  test('an oversized message closes the session', async () => {
    const { session, peer } = setup({ maxMessageBytes: 64 });
    const closed = new Promise((resolve) => session.on('close', resolve));
    peer.send({ id: 1, result: 'x'.repeat(100), error: null });
    await expect(closed).resolves.toBeInstanceOf(OvsdbProtocolError);
  });

  test('a silent peer is probed with echo and then dropped', async () => {
    const { session, peer } = setup({ probeIntervalMs: 15 });
    const closed = new Promise((resolve) => session.on('close', resolve));
    expect(await peer.next(byMethod('echo'))).toMatchObject({ params: ['vadc-probe'] });
    await expect(closed).resolves.toBeInstanceOf(OvsdbTimeoutError);
  });

  test('a peer answering probes stays connected', async () => {
    const { session, peer } = setup({ probeIntervalMs: 15 });
    for (let round = 0; round < 3; round++) {
      const probe = await peer.next((m) => m.method === 'echo' && !m.answered);
      probe.answered = true;
      peer.send({ id: probe.id, result: probe.params, error: null });
    }
    expect(session.closed).toBe(false);
    session.close();
  });
});
