/**
 * devo_platform sender: mutual TLS (TLS 1.2+), client certificate + key, the server verified against
 * the chain CA. Like devo-collector-sdk, the host name check is skipped unless
 * `output.checkHostname`; verifying the chain is never skipped. SNI = the configured address
 * (omitted for IP literals, which RFC 6066 forbids).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { OutputConfig } from '@devo-collector/common';
import type { Connector } from './connection-keeper.js';
import { loadTlsMaterial } from './tls-material.js';
import { createSocketSender, whenSocketReady, type SocketSenderOptions } from './socket-connect.js';
import type { Sender } from './types.js';

export type TlsSenderOptions = SocketSenderOptions;

export function tlsConnector(output: OutputConfig): Connector {
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

export function createTlsSender(opts: TlsSenderOptions): Sender {
  return createSocketSender(opts, tlsConnector(opts.output), 'SSL');
}
