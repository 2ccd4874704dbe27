/** What the TCP and TLS senders share: waiting for a socket to be usable, and the sender wiring. */
import type net from 'node:net';
import type { Logger, OutputConfig } from '@devo-collector/common';
import type { Spool } from '../spool.js';
import type { BackoffPolicy } from './delivery.js';
import { createStreamSender, type Connector } from './stream-sender.js';
import type { Sender } from './types.js';

export interface SocketSenderOptions {
  name: string;
  output: OutputConfig;
  spool: Spool;
  logger: Logger;
  /** Test knob: the quiet period after which a connection with unconfirmed frames is closed cleanly. */
  quietMs?: number;
  backoff?: BackoffPolicy;
}

/**
 * Resolves with the socket once `readyEvent` fires ('connect' or 'secureConnect'); rejects on the
 * first error or after `timeoutMs` (the socket is destroyed either way).
 */
export function whenSocketReady<S extends net.Socket>(socket: S, readyEvent: string, timeoutMs: number, what: string): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error(`no ${what} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

export function createSocketSender(opts: SocketSenderOptions, connect: Connector): Sender {
  const o = opts.output;
  return createStreamSender({
    name: opts.name,
    target: `${o.address}:${o.port}`,
    spool: opts.spool,
    connect,
    logger: opts.logger,
    connectTimeoutMs: o.connectTimeoutMs,
    idleReconnectMs: o.idleReconnectMs,
    maxConnectionAgeMs: o.maxConnectionAgeMs,
    stallTimeoutMs: o.stallTimeoutMs,
    peerReceiveBufferBytes: o.peerReceiveBufferBytes,
    quietMs: opts.quietMs,
    backoff: opts.backoff,
  });
}
