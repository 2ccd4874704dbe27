/**
 * A byte-capturing receiver on port 0 standing in for Devo: mutual TLS (node:tls server,
 * requestCert, rejectUnauthorized), or plain TCP (a relay) when `certs` is null. Each connection
 * is read as Devo reads it (wire-decoder.ts: LF lines and gzip members) as the bytes arrive;
 * record lines (`recordTag`) are counted by pbid. `stop()` kills it abruptly (destroys live
 * sockets, like a crashed receiver), `start()` listens again on the same port. `neverRead`:
 * completes the handshake and then does not read (a Devo endpoint that stalled) until
 * `startReading()`; its kernel still acknowledges what fits in its receive buffer, and `stop()`
 * loses it (a reset).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TestCerts } from './certs.js';
import { until } from './wait.js';
import { WireDecoder } from './wire-decoder.js';

export interface TlsReceiver {
  port: number;
  /** All bytes received: each connection's bytes in order, connections in the order they opened. */
  bytes(): Buffer;
  text(): string;
  /** The decoded lines, each connection's in order, connections in the order they opened. */
  decoded(): { lines: string[]; members: number; plainLines: number; errors: string[] };
  /** The decoded lines in arrival order (across connections). */
  lines: string[];
  /** pbid of each `recordTag` line -> times received; first arrival time (Date.now()). */
  ids: Map<string, number>;
  arrivals: Map<string, number>;
  /** Bytes on the wire (before gzip members are inflated). */
  wireBytes: number;
  members: number;
  plainLines: number;
  /** Corrupt gzip members (decoding of that connection stops). */
  decodeErrors: string[];
  /** Every whole gzip member in arrival order: its bytes on the wire and the record ids it carried. */
  memberLog: Array<{ wireBytes: number; ids: string[] }>;
  connections: number;
  rejectedHandshakes: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  startReading(): void;
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<void>;
}

export interface ReceiverOptions {
  neverRead?: boolean;
  /** The Devo tag whose lines are records (default the model breaches'). */
  recordTag?: string;
}

const HEADER = /^<\d+>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ (\S+): /;

export async function startTlsReceiver(certs: TestCerts | null, port = 0, opts: ReceiverOptions = {}): Promise<TlsReceiver> {
  const recordTag = opts.recordTag ?? 'edr.darktrace.respond.model_breach';
  const recordId = (l: string): string | null => (HEADER.exec(l.slice(0, 300))?.[1] === recordTag ? (/"pbid":(\d+)/.exec(l)?.[1] ?? null) : null);
  // Per connection, so concurrent connections never interleave inside a line.
  const conns: { chunks: Buffer[]; lines: string[] }[] = [];
  const all = (): Buffer => Buffer.concat(conns.flatMap((c) => c.chunks));
  let server: net.Server | null = null;
  const sockets = new Set<net.Socket>();
  let neverRead = !!opts.neverRead;
  const paused: Array<() => void> = [];
  const read = (socket: net.Socket): void => {
    const conn = { chunks: [] as Buffer[], lines: [] as string[] };
    conns.push(conn);
    const decoder = new WireDecoder({
      onMember: (wireBytes, lines) => r.memberLog.push({ wireBytes, ids: lines.map((l) => recordId(l)).filter((id) => id !== null) }),
    });
    socket.on('data', (d: Buffer) => {
      conn.chunks.push(d);
      r.wireBytes += d.length;
      const [members, plain] = [decoder.members, decoder.plainLines];
      const lines = decoder.push(d);
      r.members += decoder.members - members;
      r.plainLines += decoder.plainLines - plain;
      if (decoder.error && !r.decodeErrors.includes(decoder.error)) r.decodeErrors.push(decoder.error);
      for (const l of lines) {
        conn.lines.push(l);
        r.lines.push(l);
        const id = recordId(l);
        if (!id) continue;
        r.ids.set(id, (r.ids.get(id) ?? 0) + 1);
        if (!r.arrivals.has(id)) r.arrivals.set(id, Date.now());
      }
    });
    socket.resume();
  };
  const onConn = (socket: net.Socket): void => {
    r.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (!neverRead) return read(socket);
    socket.pause();
    paused.push(() => read(socket));
  };
  const r: TlsReceiver = {
    port,
    connections: 0,
    rejectedHandshakes: 0,
    lines: [],
    ids: new Map(),
    arrivals: new Map(),
    wireBytes: 0,
    members: 0,
    plainLines: 0,
    decodeErrors: [],
    memberLog: [],
    bytes: all,
    text: () => all().toString('utf8'),
    decoded: () => ({ lines: conns.flatMap((c) => c.lines), members: r.members, plainLines: r.plainLines, errors: r.decodeErrors }),
    startReading() {
      neverRead = false;
      for (const go of paused.splice(0)) go();
    },
    async start() {
      server = certs
        ? tls.createServer(
            { key: certs.read(certs.serverKeyPath), cert: certs.read(certs.serverCertPath), ca: certs.read(certs.caPath), requestCert: true, rejectUnauthorized: true },
            onConn,
          )
        : net.createServer(onConn);
      server.on('tlsClientError', () => r.rejectedHandshakes++);
      await new Promise<void>((res, rej) => {
        server!.once('error', rej);
        server!.listen(r.port, '127.0.0.1', () => res());
      });
      r.port = (server.address() as net.AddressInfo).port;
    },
    async stop() {
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async waitFor(pred, timeoutMs = 20_000) {
      await until(() => pred(r.text()), timeoutMs, 'the receiver', undefined, 20);
    },
  };
  await r.start();
  return r;
}
