import { decode, encode, OFPMPF_REPLY_MORE } from '../../src/openflow';
import type { OfpMessage } from '../../src/openflow';
import { splitMultipartReply } from '../lib/scale-stats-switch';
import { buildPorts } from '../../src/bench/switch-replies';
import { backendPortName, scaleConfigYaml } from '../lib/scale';
import { parseConfig } from '../../src/config';

describe('splitMultipartReply', () => {
  const ports = buildPorts(0, Array.from({ length: 1100 }, (_, i) => `p${i}`));
  const reply: OfpMessage = { type: 'multipart_reply', xid: 9, flags: 0, body: { mpType: 'port_desc', entries: ports } };

  it('splits 1,100 ports (over 64 KiB) into encodable parts, REPLY_MORE on all but the last, entries in order', () => {
    expect(() => encode(reply)).toThrow(/65535/);
    const parts = splitMultipartReply(reply, 400);
    expect(parts).toHaveLength(3);
    const decoded = parts.map((p) => decode(encode(p)));
    expect(decoded.map((m) => (m.type === 'multipart_reply' ? m.flags & OFPMPF_REPLY_MORE : -1))).toEqual([1, 1, 0]);
    const names = decoded.flatMap((m) => (m.type === 'multipart_reply' && m.body.mpType === 'port_desc' ? m.body.entries.map((e) => e.name) : []));
    expect(names).toEqual(ports.map((p) => p.name));
    expect(decoded.every((m) => m.xid === 9)).toBe(true);
  });

  it('leaves small replies and bodies without entries alone', () => {
    const small: OfpMessage = { type: 'multipart_reply', xid: 1, flags: 0, body: { mpType: 'port_desc', entries: ports.slice(0, 3) } };
    expect(splitMultipartReply(small)).toEqual([small]);
    const aggregate: OfpMessage = { type: 'multipart_reply', xid: 2, flags: 0, body: { mpType: 'aggregate', packetCount: 0n, byteCount: 0n, flowCount: 0 } };
    expect(splitMultipartReply(aggregate)).toEqual([aggregate]);
  });
});

describe('scaleConfigYaml', () => {
  it('makes a valid vadc config with distinct backend vNICs and addresses', () => {
    const config = parseConfig(scaleConfigYaml({ backends: 1000 }), 'test');
    const backends = config.services[0].backends;
    expect(backends).toHaveLength(1000);
    expect(new Set(backends.map((b) => b.ip)).size).toBe(1000);
    expect(backends[999].vnic).toBe(backendPortName(999));
  });

  it('refuses a backend count it cannot address', () => {
    expect(() => scaleConfigYaml({ backends: 0 })).toThrow(/backends must be/);
  });
});
