// A recording proxy in front of the daemon's control socket: the CLI under test talks to it as it would to the
// daemon, and every response passing through is checked against the contract (docs/openapi.yaml). Event
// streams are passed through as they come; each `event`/`status` message in them is checked against the
// VadcEvent/StatusSnapshot schemas.
import { rmSync } from 'node:fs';
import http from 'node:http';
import { SseParser } from '../../src/api/sse';
import { ApiContract } from './contract';

export interface ContractProxy {
  readonly socketPath: string;
  /** Every contract violation seen so far (empty when all responses kept it). */
  readonly problems: string[];
  /** Responses checked so far. */
  readonly checked: () => number;
  close(): Promise<void>;
}

export async function startContractProxy(socketPath: string, upstreamSocket: string, contract = new ApiContract()): Promise<ContractProxy> {
  const problems: string[] = [];
  let checked = 0;
  const server = http.createServer((req, res) => {
    const up = http.request({ socketPath: upstreamSocket, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      const type = String(upRes.headers['content-type'] ?? '');
      if (type.startsWith('text/event-stream')) {
        checked++;
        problems.push(...contract.problems({ method: req.method ?? 'GET', path: req.url ?? '/', status: upRes.statusCode ?? 0, contentType: type, body: '' }));
        const parser = new SseParser();
        upRes.setEncoding('utf8').on('data', (chunk: string) => {
          for (const m of parser.push(chunk)) {
            const schema = m.event === 'event' ? 'VadcEvent' : m.event === 'status' ? 'StatusSnapshot' : undefined;
            if (!schema) problems.push(`${req.url}: unexpected stream message "${m.event}"`);
            else problems.push(...contract.schemaProblems(schema, JSON.parse(m.data)));
          }
          res.write(chunk);
        });
        upRes.on('end', () => res.end());
        res.on('close', () => upRes.destroy());
        return;
      }
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const body = Buffer.concat(chunks);
        checked++;
        problems.push(...contract.problems({ method: req.method ?? 'GET', path: req.url ?? '/', status: upRes.statusCode ?? 0, contentType: type, body: body.toString('utf8') }));
        res.end(body);
      });
    });
    up.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(up);
  });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    problems,
    checked: () => checked,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
