/**
 * What a failed connect or write means, decided in one pure function (OTel's is-export-retryable
 * pattern): `delivered | retryable(retryInMs) | rejected`. Retry waits are common's jittered
 * exponential backoff, 2 s doubling up to 60 s (attempts count from 1: attempt 1 waits ~2 s).
 * Data is never dropped on `rejected`: it stays in the spool and the sender stops until the
 * operator fixes the cause and restarts.
 */
import { backoffDelayMs, type BackoffPolicy } from '@devo-collector/common';

export type DeliveryResult =
  | { kind: 'delivered' }
  | { kind: 'retryable'; retryInMs: number; cause: string }
  | { kind: 'rejected'; cause: string };

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
 * Decides what to do after an attempt. `err` undefined = the bytes were written. Programming errors
 * (bad arguments) are `rejected`; anything about the network or TLS, including a distrusted
 * certificate that an operator may fix by replacing chain.crt, is retryable with backoff.
 */
export function deliveryResult(
  err: unknown,
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): DeliveryResult {
  if (err === undefined || err === null) return { kind: 'delivered' };
  const code = (err as ErrLike).code ?? '';
  if (err instanceof TypeError || err instanceof RangeError || code.startsWith('ERR_INVALID_ARG')) {
    return { kind: 'rejected', cause: describeSocketError(err) };
  }
  return { kind: 'retryable', retryInMs: backoffDelayMs(attempt - 1, policy, random), cause: describeSocketError(err) };
}
