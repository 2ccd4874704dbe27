/** A plain TCP receiver (an in-house relay stand-in) that records every line it gets. */
import net from 'node:net';

export interface LineReceiver {
  port: number;
  lines: string[];
  close(): Promise<void>;
}

export async function startLineReceiver(port = 0, lines: string[] = []): Promise<LineReceiver> {
  const server = net.createServer((s) => {
    let rest = '';
    s.on('data', (b) => {
      rest += b.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    lines,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
    }),
  };
}
