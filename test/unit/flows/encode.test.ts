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

// The builders' output must be what the codec encodes: a round trip through the wire gives the same message. Built
// inside the test (not while jest collects the file), so a broken builder fails the test rather than the file's loading.
describe('builder output through the OpenFlow codec', () => {
  const builds: Array<[string, () => OfpMessage[]]> = [
    ['pipeline', () => buildPipelineFlows()], ['vip', () => buildVipFlows('10.0.0.100')], ['vip prefix', () => buildVipFlows('10.2.0.0/16')],
    ['delete vip', () => buildDeleteVipFlows('10.0.0.100')],
    ['service', () => buildServiceFlows({ serviceId: 7, vip: '10.0.0.100', protocol: 'tcp', port: 80 })],
    ['tcp connection', () => buildConnectionFlows(conn)], ['udp connection', () => buildConnectionFlows({ ...conn, protocol: 'udp' })],
    ['connection with fin_timeout', () => buildConnectionFlows({ ...conn, finTimeout: 5 })],
    ['delete connection', () => [buildDeleteConnection(7, 1)]], ['delete service', () => [buildDeleteService(7)]],
    ['delete all', () => [buildDeleteAllVadcFlows()]], ['flow stats request', () => [buildFlowStatsRequest('connection')]],
    ['resubmit packet-out', () => [buildResubmitPacketOut(Buffer.alloc(60, 1), 5)]], ['reply packet-out', () => [buildReplyPacketOut(Buffer.alloc(42, 2), 5)]],
  ];

  it.each(builds)('%s', (_name, build) => {
    const messages = build().map((m, i) => ({ ...m, xid: i + 1 }));
    expect(messages.length).toBeGreaterThan(0);
    for (const message of messages) expect(decode(encode(message))).toMatchObject(message);
  });
});
