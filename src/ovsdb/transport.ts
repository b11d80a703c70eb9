/**
 * OVS-style targets (unix:PATH, tcp:HOST:PORT, ssl:HOST:PORT) -> a connected byte stream.
 * Failures become OvsdbConnectionError naming the target, e.g. "cannot reach OVSDB at unix:/x: ENOENT".
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { OvsdbConnectionError, OvsdbTargetError } from './errors';

export type OvsdbTarget =
  | { kind: 'unix'; path: string; text: string }
  | { kind: 'tcp' | 'ssl'; host: string; port: number; text: string };

export interface TlsFiles {
  /** PEM paths, like ovsdb-server's --private-key, --certificate, --ca-cert. */
  privateKey: string;
  certificate: string;
  caCert: string;
  /**
   * OVS checks that the peer's certificate chains to the CA but not its host name (OVS certificates
   * name switches and controllers, not hosts); default false to match. Set true to also check the name.
   */
  verifyHostname?: boolean;
}

export function parseTarget(text: string): OvsdbTarget {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (kind === 'unix') {
    if (!rest) throw new OvsdbTargetError(text, 'unix: needs a socket path');
    return { kind, path: rest, text };
  }
  if (kind === 'tcp' || kind === 'ssl') {
    // IPv6 hosts are written in brackets, as OVS does: tcp:[::1]:6640
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(rest);
    const port = match ? Number(match[3]) : NaN;
    if (!match || port < 1 || port > 65535) throw new OvsdbTargetError(text, `${kind}: needs HOST:PORT with a port 1-65535`);
    return { kind, host: match[1] ?? match[2], port, text };
  }
  throw new OvsdbTargetError(text, 'expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT');
}

function readPem(target: string, what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new OvsdbConnectionError(target, `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/**
 * Connects, resolving once the stream is usable (after the TLS handshake for ssl:). Aborting `signal`
 * destroys the half-open socket at once and rejects.
 */
export function openStream(target: OvsdbTarget, tlsFiles: TlsFiles | undefined, timeoutMs: number, signal?: AbortSignal): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new OvsdbConnectionError(target.text, 'connection attempt aborted'));
      return;
    }
    let socket: net.Socket;
    const readyEvent = target.kind === 'ssl' ? 'secureConnect' : 'connect';
    if (target.kind === 'unix') {
      socket = net.connect({ path: target.path });
    } else if (target.kind === 'tcp') {
      socket = net.connect({ host: target.host, port: target.port });
    } else {
      if (!tlsFiles) {
        reject(new OvsdbConnectionError(target.text, 'ssl: needs tls { privateKey, certificate, caCert }'));
        return;
      }
      try {
        socket = tls.connect({
          host: target.host,
          port: target.port,
          key: readPem(target.text, 'private key', tlsFiles.privateKey),
          cert: readPem(target.text, 'certificate', tlsFiles.certificate),
          ca: readPem(target.text, 'CA certificate', tlsFiles.caCert),
          rejectUnauthorized: true,
          ...(tlsFiles.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
        });
      } catch (err) {
        reject(err);
        return;
      }
    }
    const timer = timeoutMs > 0 ? setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs) : undefined;
    const onAbort = (): void => fail(new Error('connection attempt aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (err: NodeJS.ErrnoException): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      // System errors read best as their code (ENOENT); TLS errors as their message ("self-signed certificate").
      const reason = err.syscall && err.code ? err.code : err.message;
      reject(new OvsdbConnectionError(target.text, reason, err.code));
    };
    socket.once('error', fail);
    socket.once(readyEvent, () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', fail);
      socket.setNoDelay?.(true);
      resolve(socket);
    });
  });
}
