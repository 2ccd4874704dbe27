/**
 * How an output's socket is opened (plain TCP or mutual TLS, ready or failed within the connect
 * timeout) and the stream sender over it. Why one file: the sender and `--validate`
 * (output-check.ts) must open the same socket the same way.
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger, OutputConfig } from '@devo-collector/common';
import { createdSenderLine, type TransportLayer } from '../monitor-lines.js';
import type { Spool } from '../spool.js';
import type { Connector } from './connection-keeper.js';
import type { BackoffPolicy } from './delivery.js';
import { createStreamSender } from './stream-sender.js';
import { loadTlsMaterial } from './tls-material.js';
import type { Sender } from './types.js';

interface SocketSenderOptions {
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
 * first error or after `timeoutMs` (ETIMEDOUT); the socket is destroyed either way.
 */
async function whenSocketReady<S extends net.Socket>(socket: S, readyEvent: string, timeoutMs: number, what: string): Promise<S> {
  try {
    await once(socket, readyEvent, { signal: AbortSignal.timeout(timeoutMs) });
    return socket;
  } catch (err) {
    socket.destroy();
    throw (err as Error).name === 'AbortError' ? Object.assign(new Error(`no ${what} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }) : err;
  }
}

/**
 * relay / syslog without TLS files: plain TCP (an in-house relay takes plaintext). Otherwise
 * (devo_platform, `tls`) mutual TLS 1.2+: client certificate + key, the server verified against
 * the chain CA. Like devo-collector-sdk, the host name check is skipped unless
 * `output.checkHostname`; verifying the chain is never skipped. SNI = the configured address
 * (omitted for IP literals, which RFC 6066 forbids).
 */
export function connectorFor(output: OutputConfig, useTls: boolean): Connector {
  if (!useTls) return (timeoutMs) => whenSocketReady(net.connect({ host: output.address, port: output.port }), 'connect', timeoutMs, 'TCP connection');
  return async (timeoutMs) => {
    // Read on every connect, so replacing chain.crt fixes a wrong chain without a restart.
    const material = loadTlsMaterial(output.name, output);
    const socket = tls.connect({
      host: output.address,
      port: output.port,
      servername: net.isIP(output.address) ? undefined : output.address,
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      // Devo's certificates need OpenSSL security level 1 (the vendor's sec_level=1).
      ciphers: 'DEFAULT@SECLEVEL=1',
      checkServerIdentity: output.checkHostname ? tls.checkServerIdentity : () => undefined,
    });
    return whenSocketReady(socket, 'secureConnect', timeoutMs, 'TLS handshake');
  };
}

/** Every connection opened is logged as the vendor logs each devo-sdk Sender it creates. */
export function createSocketSender(opts: SocketSenderOptions, useTls: boolean): Sender {
  const o = opts.output;
  const open = connectorFor(o, useTls);
  const transport: TransportLayer = useTls ? 'SSL' : 'TCP';
  const connect: Connector = async (timeoutMs) => {
    const socket = await open(timeoutMs);
    opts.logger.info(createdSenderLine(opts.name, o, transport, opts.hostname));
    return socket;
  };
  return createStreamSender({ ...o, ...opts, target: `${o.address}:${o.port}`, connect });
}
