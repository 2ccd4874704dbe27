/** A plain TCP byte-capturing receiver on port 0 (relay / syslog outputs). */
import net from 'node:net';

export interface TcpReceiver {
  port: number;
  connections: number;
  text(): string;
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpReceiver(): Promise<TcpReceiver> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    r.connections++;
    sockets.add(s);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const r: TcpReceiver = {
    port: 0,
    connections: 0,
    text: () => Buffer.concat(chunks).toString('utf8'),
    async waitFor(pred, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (!pred(r.text())) {
        if (Date.now() > until) throw new Error('timed out waiting for the TCP receiver');
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  r.port = (server.address() as net.AddressInfo).port;
  return r;
}
