/** relay / syslog sender: the same stream sender over plain TCP (an in-house relay takes plaintext). */
import net from 'node:net';
import type { OutputConfig } from '@devo-collector/common';
import type { Connector } from './connection-keeper.js';
import { createSocketSender, whenSocketReady, type SocketSenderOptions } from './socket-connect.js';
import type { Sender } from './types.js';

export type TcpSenderOptions = SocketSenderOptions;

export function tcpConnector(output: Pick<OutputConfig, 'address' | 'port'>): Connector {
  return (timeoutMs) => whenSocketReady(net.connect({ host: output.address, port: output.port }), 'connect', timeoutMs, 'TCP connection');
}

export function createTcpSender(opts: TcpSenderOptions): Sender {
  return createSocketSender(opts, tcpConnector(opts.output), 'TCP');
}
