/** relay / syslog sender: the same stream sender over plain TCP (an in-house relay takes plaintext). */
import net from 'node:net';
import type { Logger, OutputConfig } from '@devo-collector/common';
import type { Spool } from '../spool.js';
import type { BackoffPolicy } from './delivery.js';
import { createStreamSender, type Connector } from './stream-sender.js';
import type { Sender } from './types.js';

export interface TcpSenderOptions {
  name: string;
  output: OutputConfig;
  spool: Spool;
  logger: Logger;
  settleMs?: number;
  backoff?: BackoffPolicy;
}

export function tcpConnector(output: Pick<OutputConfig, 'address' | 'port'>): Connector {
  return (timeoutMs) =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: output.address, port: output.port });
      const timer = setTimeout(
        () => socket.destroy(Object.assign(new Error(`no TCP connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(socket);
      });
    });
}

export function createTcpSender(opts: TcpSenderOptions): Sender {
  const o = opts.output;
  return createStreamSender({
    name: opts.name,
    target: `${o.address}:${o.port}`,
    spool: opts.spool,
    connect: tcpConnector(o),
    logger: opts.logger,
    connectTimeoutMs: o.connectTimeoutMs,
    idleReconnectMs: o.idleReconnectMs,
    maxConnectionAgeMs: o.maxConnectionAgeMs,
    settleMs: opts.settleMs,
    backoff: opts.backoff,
  });
}
