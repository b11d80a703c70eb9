import { RequestAbortedError, RequestTimeoutError } from '../../../src/controller/errors';
import { PendingRequests } from '../../../src/controller/pending-requests';

describe('PendingRequests', () => {
  afterEach(() => jest.useRealTimers());

  it('allocates xids that skip 0 and those in flight, wrapping at 2^32', () => {
    const table = new PendingRequests<string>(0xffff_fffe);
    const a = table.allocateXid();
    void table.expect(a, { requestType: 'x', timeoutMs: 1000 }).catch(() => undefined);
    expect(a).toBe(0xffff_fffe);
    expect(table.allocateXid()).toBe(0xffff_ffff);
    expect(table.allocateXid()).toBe(1);
    table.failAll(new Error('done'));
  });

  it('collects multipart parts until the last one', async () => {
    const table = new PendingRequests<string>();
    const reply = table.expect(5, { requestType: 'multipart_request/flow', timeoutMs: 1000 });
    expect(table.deliver(5, 'a', true)).toBe(true);
    expect(table.deliver(5, 'b', true)).toBe(true);
    expect(table.deliver(5, 'c', false)).toBe(true);
    await expect(reply).resolves.toEqual(['a', 'b', 'c']);
    expect(table.deliver(5, 'late')).toBe(false);
    expect(table.size).toBe(0);
  });

  it('times out with a typed error naming the request', async () => {
    jest.useFakeTimers();
    const table = new PendingRequests<string>();
    const reply = table.expect(9, { requestType: 'barrier_request', timeoutMs: 250 });
    jest.advanceTimersByTime(250);
    await expect(reply).rejects.toThrow(RequestTimeoutError);
    await expect(reply).rejects.toThrow('barrier_request xid 9 got no reply within 250 ms');
    expect(table.has(9)).toBe(false);
  });

  it('is cancelled by an AbortSignal, before or during the wait', async () => {
    const table = new PendingRequests<string>();
    const controller = new AbortController();
    const reply = table.expect(3, { requestType: 'echo_request', timeoutMs: 1000, signal: controller.signal });
    controller.abort(new Error('user gave up'));
    await expect(reply).rejects.toThrow(RequestAbortedError);
    await expect(reply).rejects.toThrow('echo_request xid 3 was cancelled: user gave up');
    expect(table.size).toBe(0);
    await expect(
      table.expect(4, { requestType: 'echo_request', timeoutMs: 1000, signal: controller.signal }),
    ).rejects.toThrow(RequestAbortedError);
  });

  it('rejects everything outstanding when the session closes', async () => {
    const table = new PendingRequests<string>();
    const a = table.expect(1, { requestType: 'a', timeoutMs: 1000 });
    const b = table.expect(2, { requestType: 'b', timeoutMs: 1000 });
    table.failAll(new Error('gone'));
    await expect(a).rejects.toThrow('gone');
    await expect(b).rejects.toThrow('gone');
  });

  it('refuses to wait twice on one xid', () => {
    const table = new PendingRequests<string>();
    void table.expect(1, { requestType: 'a', timeoutMs: 1000 }).catch(() => undefined);
    expect(() => table.expect(1, { requestType: 'a', timeoutMs: 1000 })).toThrow('xid 1 is already awaiting a reply');
    table.failAll(new Error('done'));
  });
});
