import { decode, encode, type OfpMessage } from '../../../src/openflow';
import {
  buildConnectionFlows, buildDeleteAllVadcFlows, buildDeleteConnection, buildDeleteService, buildDeleteVipFlows, buildFlowStatsRequest,
  buildPipelineFlows, buildReplyPacketOut, buildResubmitPacketOut, buildServiceFlows, buildVipFlows, type ConnectionSpec,
} from '../../../src/flows';

const conn: ConnectionSpec = {
  serviceId: 7, connectionId: 1, protocol: 'tcp', idleTimeout: 60,
  client: { ofport: 5, mac: '52:54:00:00:00:c1', ip: '10.0.0.51', port: 40000 },
  vip: { ip: '10.0.0.100', mac: '02:00:0a:00:00:64', port: 80 },
  backend: { ofport: 2, mac: '52:54:00:00:00:01', ip: '10.0.0.11', port: 8080 },
};

// The builders' output must be what the codec encodes: a round trip through the wire gives the same message.
describe('builder output through the OpenFlow codec', () => {
  const messages: OfpMessage[] = [
    ...buildPipelineFlows(), ...buildVipFlows('10.0.0.100'), ...buildVipFlows('10.2.0.0/16'), ...buildDeleteVipFlows('10.0.0.100'),
    ...buildServiceFlows({ serviceId: 7, vip: '10.0.0.100', protocol: 'tcp', port: 80 }), ...buildConnectionFlows(conn),
    ...buildConnectionFlows({ ...conn, protocol: 'udp' }), ...buildConnectionFlows({ ...conn, finTimeout: 5 }), buildDeleteConnection(7, 1), buildDeleteService(7), buildDeleteAllVadcFlows(),
    buildFlowStatsRequest('connection'), buildResubmitPacketOut(Buffer.alloc(60, 1), 5), buildReplyPacketOut(Buffer.alloc(42, 2), 5),
  ];

  it.each(messages.map((m, i) => [`${i} ${m.type}`, { ...m, xid: i + 1 }] as const))('%s', (_name, message) => {
    expect(decode(encode(message))).toMatchObject(message);
  });
});
