// Small Node programs the lab runs inside namespaces (`ip netns exec NS node FILE ...`). They are kept
// as text and written into the lab directory at `up`, so they run the same from src (ts-jest) and
// dist, and every process running one carries the lab directory in its command line (down() finds it).

/**
 * argv: PORT NAME [FAMILY]. Answers every request with "NAME PORT\n"; keep-alive on; prints "listening" when ready.
 * FAMILY 'ipv4' or 'ipv6' listens on that family only (an application of a dual-stack VM that serves one family). A GET of
 * /set-delay/MS makes it answer every later request MS milliseconds after reading it (a slow application; 0 = at once).
 * A GET of /hold/MS is answered MS milliseconds after it was read, that request only: a client that half-closes its
 * connection (shutdown(SHUT_WR)) right after sending it holds a half-closed connection that long (the server closes its
 * side after the answer).
 */
export const HTTP_SERVER = `'use strict';
const http = require('node:http');
const [port, name, family] = process.argv.slice(2);
let delayMs = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const set = /^\\/set-delay\\/(\\d+)$/.exec(req.url || '');
    if (set) delayMs = Number(set[1]);
    const hold = /^\\/hold\\/(\\d+)$/.exec(req.url || '');
    const body = name + ' ' + port + '\\n';
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (hold) setTimeout(answer, Number(hold[1]));
    else if (delayMs > 0 && !set) setTimeout(answer, delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 30000;
// A client's FIN with an answer still pending (a half-close): answer, then close (Node's default closes at once).
server.httpAllowHalfOpen = true;
// '::' takes IPv4 connections too (as IPv4-mapped addresses); a namespace without IPv6 falls back to IPv4 only.
const listening = () => process.stdout.write('listening\\n');
if (family === 'ipv4') server.listen(Number(port), '0.0.0.0', listening);
else if (family === 'ipv6') server.listen({ port: Number(port), host: '::', ipv6Only: true }, listening);
else {
  server.once('error', (err) => { if (err.code !== 'EAFNOSUPPORT' && err.code !== 'EADDRNOTAVAIL') throw err; server.listen(Number(port), '0.0.0.0', listening); });
  server.listen(Number(port), '::', listening);
}
const stop = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/** argv: PORT NAME. Replies to each datagram with "NAME PORT " followed by the datagram's bytes. */
export const UDP_ECHO_SERVER = `'use strict';
const dgram = require('node:dgram');
const [port, name] = process.argv.slice(2);
// One udp6 socket on '::' answers IPv4 (as IPv4-mapped addresses) and IPv6 clients.
const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
socket.on('message', (msg, rinfo) => {
  socket.send(Buffer.concat([Buffer.from(name + ' ' + port + ' '), msg]), rinfo.port, rinfo.address);
});
socket.bind(Number(port), '::', () => process.stdout.write('listening\\n'));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
`;

/** argv: URL TIMEOUT_MS. Prints {"status","body"} as JSON; exit 2 with the reason on stderr on failure. */
export const HTTP_CLIENT = `'use strict';
const http = require('node:http');
const [url, timeoutMs] = process.argv.slice(2);
const req = http.get(url, { agent: false, timeout: Number(timeoutMs) }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => { body += chunk; });
  res.on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, body })); });
});
req.on('timeout', () => req.destroy(new Error('no answer within ' + timeoutMs + ' ms')));
req.on('error', (err) => { process.stderr.write(err.message + '\\n'); process.exit(2); });
`;

/** argv: HOST PORT PAYLOAD TIMEOUT_MS. Prints the first reply; exit 2 on timeout. */
export const UDP_CLIENT = `'use strict';
const dgram = require('node:dgram');
const [host, port, payload, timeoutMs] = process.argv.slice(2);
const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const timer = setTimeout(() => { process.stderr.write('no answer within ' + timeoutMs + ' ms\\n'); process.exit(2); }, Number(timeoutMs));
socket.on('message', (msg) => { clearTimeout(timer); process.stdout.write(msg); socket.close(); });
socket.send(Buffer.from(payload), Number(port), host);
`;

export const SCRIPTS = {
  'http-server.js': HTTP_SERVER,
  'udp-echo-server.js': UDP_ECHO_SERVER,
  'http-client.js': HTTP_CLIENT,
  'udp-client.js': UDP_CLIENT,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
