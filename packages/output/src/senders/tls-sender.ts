/**
 * devo_platform sender: mutual TLS (TLS 1.2+), client certificate + key, the server verified against
 * the chain CA. Like devo-collector-sdk, the host name check is skipped unless
 * `output.checkHostname`; verifying the chain is never skipped. SNI = the configured address
 * (omitted for IP literals, which RFC 6066 forbids).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger, OutputConfig } from '@devo-collector/common';
import type { Spool } from '../spool.js';
import type { BackoffPolicy } from './delivery.js';
import { createStreamSender, type Connector } from './stream-sender.js';
import { loadTlsMaterial } from './tls-material.js';
import type { Sender } from './types.js';

export interface TlsSenderOptions {
  name: string;
  output: OutputConfig;
  spool: Spool;
  logger: Logger;
  settleMs?: number;
  backoff?: BackoffPolicy;
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`no TLS handshake within ${ms} ms`), { code: 'ETIMEDOUT' });
}

export function tlsConnector(output: OutputConfig): Connector {
  return (timeoutMs) =>
    new Promise<net.Socket>((resolve, reject) => {
      let material;
      try {
        material = loadTlsMaterial(output.name, output);
      } catch (err) {
        reject(err);
        return;
      }
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
      const timer = setTimeout(() => socket.destroy(timeoutError(timeoutMs)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(socket);
      });
    });
}

export function createTlsSender(opts: TlsSenderOptions): Sender {
  const o = opts.output;
  return createStreamSender({
    name: opts.name,
    target: `${o.address}:${o.port}`,
    spool: opts.spool,
    connect: tlsConnector(o),
    logger: opts.logger,
    connectTimeoutMs: o.connectTimeoutMs,
    idleReconnectMs: o.idleReconnectMs,
    maxConnectionAgeMs: o.maxConnectionAgeMs,
    settleMs: opts.settleMs,
    backoff: opts.backoff,
  });
}
