import { InvalidListenTargetError, formatListenTarget, insecureListenerWarning, parseListenTarget } from '../../../src/controller/target';

describe('parseListenTarget', () => {
  it('reads tcp and ssl targets with host and port', () => {
    expect(parseListenTarget('tcp:127.0.0.1:6653')).toEqual({ protocol: 'tcp', host: '127.0.0.1', port: 6653 });
    expect(parseListenTarget('ssl:0.0.0.0:16653')).toEqual({ protocol: 'ssl', host: '0.0.0.0', port: 16653 });
  });

  it('defaults the port to 6653 and accepts bracketed IPv6 and port 0', () => {
    expect(parseListenTarget('tcp:localhost')).toEqual({ protocol: 'tcp', host: 'localhost', port: 6653 });
    expect(parseListenTarget('tcp:[::1]:0')).toEqual({ protocol: 'tcp', host: '::1', port: 0 });
    expect(formatListenTarget(parseListenTarget('ssl:[::1]:7000'))).toBe('ssl:[::1]:7000');
  });

  it.each(['udp:1.2.3.4:6653', 'tcp:', '127.0.0.1:6653', 'tcp:1.2.3.4:70000', 'tcp:::1:6653'])(
    'rejects %s with a typed error naming the target',
    (bad) => {
      expect(() => parseListenTarget(bad)).toThrow(InvalidListenTargetError);
      expect(() => parseListenTarget(bad)).toThrow(bad);
    },
  );
});

describe('listeners open to spoofed datapath ids (issue 18, defect 7)', () => {
  it('warns about plain tcp off loopback, not about ssl or loopback', () => {
    expect(insecureListenerWarning('tcp:0.0.0.0:6653')).toBe('OpenFlow listener tcp:0.0.0.0:6653 accepts switches on every interface without TLS: any host that reaches it can claim a datapath id; use ssl: (controller.ssl) or a loopback address');
    expect(insecureListenerWarning('tcp:192.0.2.7:6653')).toMatch(/accepts switches on 192\.0\.2\.7 without TLS/);
    expect(insecureListenerWarning('tcp:[::]:6653')).toMatch(/on every interface/);
    expect(insecureListenerWarning('ssl:0.0.0.0:6653')).toBeUndefined();
    expect(insecureListenerWarning('tcp:127.0.0.1:6653')).toBeUndefined();
    expect(insecureListenerWarning('tcp:[::1]:6653')).toBeUndefined();
  });
});
