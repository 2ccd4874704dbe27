/**
 * A byte-capturing mutual-TLS receiver on port 0 (node:tls server, requestCert, rejectUnauthorized).
 * Captures every byte per connection; `stop()` kills it abruptly (destroys live sockets, like a
 * crashed receiver), `start()` listens again on the same port. `neverRead`: completes the TLS
 * handshake and then never reads (a Devo endpoint that stalled): its kernel still acknowledges
 * what fits in its receive buffer, and `stop()` loses it (a reset).
 */
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { TestCerts } from './certs.js';
import { WireDecoder } from './wire-decoder.js';

export interface TlsReceiver {
  port: number;
  /** All bytes received: each connection's bytes in order, connections in the order they opened. */
  bytes(): Buffer;
  text(): string;
  /**
   * The lines as a Devo receiver reads them (gzip members inflated, wire-decoder.ts), each
   * connection's chunks fed in the order they arrived; an incomplete tail of a connection is dropped.
   */
  decoded(): { lines: string[]; members: number; plainLines: number; errors: string[] };
  connections: number;
  rejectedHandshakes: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<void>;
}

export async function startTlsReceiver(certs: TestCerts, port = 0, opts: { neverRead?: boolean } = {}): Promise<TlsReceiver> {
  // Per connection, so concurrent connections never interleave inside a line.
  const conns: Buffer[][] = [];
  const all = (): Buffer => Buffer.concat(conns.flat());
  let server: tls.Server | null = null;
  const sockets = new Set<tls.TLSSocket>();
  const r: TlsReceiver = {
    port,
    connections: 0,
    rejectedHandshakes: 0,
    bytes: all,
    text: () => all().toString('utf8'),
    decoded() {
      const res = { lines: [] as string[], members: 0, plainLines: 0, errors: [] as string[] };
      for (const chunks of conns) {
        const d = new WireDecoder();
        for (const c of chunks) res.lines.push(...d.push(c));
        res.members += d.members;
        res.plainLines += d.plainLines;
        if (d.error) res.errors.push(d.error);
      }
      return res;
    },
    async start() {
      server = tls.createServer(
        {
          key: certs.read(certs.serverKeyPath),
          cert: certs.read(certs.serverCertPath),
          ca: certs.read(certs.caPath),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (socket) => {
          r.connections++;
          sockets.add(socket);
          socket.on('error', () => undefined);
          socket.on('close', () => sockets.delete(socket));
          if (opts.neverRead) {
            socket.pause();
            return;
          }
          const chunks: Buffer[] = [];
          conns.push(chunks);
          socket.on('data', (d: Buffer) => chunks.push(d));
        },
      );
      server.on('tlsClientError', () => r.rejectedHandshakes++);
      await new Promise<void>((resolve) => server?.listen(r.port, '127.0.0.1', resolve));
      r.port = (server.address() as AddressInfo).port;
    },
    async stop() {
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async waitFor(pred, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (!pred(r.text())) {
        if (Date.now() > until) throw new Error('timed out waiting for the receiver');
        await new Promise((res) => setTimeout(res, 20));
      }
    },
  };
  await r.start();
  return r;
}
