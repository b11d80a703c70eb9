// A hostile OVSDB server for the issue-18 defect-1 tests: it accepts connections, answers echo and refuses every
// other request with an error (the daemon once leaked a connection per retry against it and ignored SIGTERM).
import net from 'node:net';
import { JsonStreamParser } from '../../src/ovsdb';

export interface EchoOnlyServer {
  server: net.Server;
  /** Connections accepted so far. */
  accepted: () => number;
  /** Connections open now. */
  open: () => number;
}

/** Listens on the unix socket `path`. */
export function echoOnlyServer(path: string): EchoOnlyServer {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    accepted++;
    sockets.add(conn);
    conn.on('close', () => sockets.delete(conn));
    conn.on('error', () => undefined);
    const parser = new JsonStreamParser();
    conn.on('data', (chunk) => {
      for (const m of parser.push(chunk) as Array<{ id: unknown; method?: string; params?: unknown[] }>) {
        if (m.method === 'echo') conn.write(JSON.stringify({ id: m.id, result: m.params, error: null }));
        else if (m.id !== null && m.id !== undefined) conn.write(JSON.stringify({ id: m.id, result: null, error: 'not supported' }));
      }
    });
  });
  server.listen(path);
  return { server, accepted: () => accepted, open: () => sockets.size };
}
