/**
 * A plain TCP receiver on 127.0.0.1 (an in-house relay / syslog stand-in): keeps every byte
 * (`text()`) and every complete LF-terminated line (`lines`, split per connection; pass your own
 * array to keep lines across receivers on the same port). `stop()` destroys live sockets.
 */
import net from 'node:net';
import { until } from './wait.js';

export interface TcpReceiver {
  port: number;
  connections: number;
  /** The complete lines received, each connection's in order. */
  lines: string[];
  text(): string;
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpReceiver(port = 0, lines: string[] = []): Promise<TcpReceiver> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    r.connections++;
    sockets.add(s);
    let rest = '';
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      rest += d.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const r: TcpReceiver = {
    port,
    connections: 0,
    lines,
    text: () => Buffer.concat(chunks).toString('utf8'),
    async waitFor(pred, timeoutMs = 15_000) {
      await until(() => pred(r.text()), timeoutMs, 'the TCP receiver', undefined, 20);
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
  r.port = (server.address() as net.AddressInfo).port;
  return r;
}
