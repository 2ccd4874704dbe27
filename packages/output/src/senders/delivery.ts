/**
 * What a failed connect or write means: a short cause for the log line, and whether it is permanent
 * (`isPermanent`). Anything else is retried after common's jittered exponential backoff,
 * DEFAULT_BACKOFF: 2 s doubling up to 60 s (connection-keeper.ts). Data is never dropped on a
 * permanent failure: it stays in the spool and the sender stops until the operator fixes the cause
 * and restarts.
 */
import type { BackoffPolicy } from '@devo-collector/common';

export type { BackoffPolicy };

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, capMs: 60_000 };

const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
]);

interface ErrLike {
  code?: string;
  message?: string;
  reason?: string;
}

/** A short human cause, never containing key material (only codes and the peer's message). */
export function describeSocketError(err: unknown): string {
  const e = (err ?? {}) as ErrLike;
  const code = e.code ?? '';
  const msg = e.message ?? String(err);
  if (CERT_CODES.has(code)) return `certificate not trusted: chain verification failed (${msg} [${code}])`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `server certificate not valid now (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `server certificate does not match the host name (${msg})`;
  if (code.startsWith('ERR_SSL_') || /alert/i.test(msg)) return `TLS handshake failed or rejected by the server (${msg})`;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by peer';
    case 'EPIPE':
      return 'connection closed by peer while writing (broken pipe)';
    case 'ETIMEDOUT':
    case 'ETIMEOUT':
      return 'timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name not resolved (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `network unreachable (${code})`;
    case 'ECLOSED':
      return 'connection closed by the server';
    default:
      return code ? `${msg} [${code}]` : msg;
  }
}

/**
 * Programming errors (bad arguments) are permanent; anything about the network or TLS, including a
 * distrusted certificate that an operator may fix by replacing chain.crt, is retried.
 */
export function isPermanent(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || ((err as ErrLike).code ?? '').startsWith('ERR_INVALID_ARG');
}
