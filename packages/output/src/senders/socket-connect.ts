/** What the TCP and TLS senders share: waiting for a socket to be usable, and the sender wiring. */
import type net from 'node:net';
import type { Logger, OutputConfig } from '@devo-collector/common';
import { createdSenderLine, type TransportLayer } from '../monitor-lines.js';
import type { Spool } from '../spool.js';
import type { BackoffPolicy } from './delivery.js';
import type { Connector } from './connection-keeper.js';
import { createStreamSender } from './stream-sender.js';
import type { Sender } from './types.js';

export interface SocketSenderOptions {
  name: string;
  output: OutputConfig;
  spool: Spool;
  logger: Logger;
  /** Test knob: the quiet period after which a connection with unconfirmed frames is closed cleanly. */
  quietMs?: number;
  backoff?: BackoffPolicy;
  /** The syslog hostname, for the "Created a sender" line (default: this machine's). */
  hostname?: string;
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

/** Every connection opened is logged as the vendor logs each devo-sdk Sender it creates. */
export function createSocketSender(opts: SocketSenderOptions, open: Connector, transport: TransportLayer): Sender {
  const o = opts.output;
  const connect: Connector = async (timeoutMs) => {
    const socket = await open(timeoutMs);
    opts.logger.info(createdSenderLine(opts.name, o, transport, opts.hostname));
    return socket;
  };
  return createStreamSender({ ...o, ...opts, target: `${o.address}:${o.port}`, connect });
}
