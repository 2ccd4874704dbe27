/**
 * Proxy failures: their ids for setup (104-106) and pulls (302-304), which are retried within a
 * pull, and which setups retry soon (TransientSetupError) rather than after the long period.
 */
import { PullError, SetupError, TransientSetupError } from '@devo-collector/common';
import { describe, expect, it } from 'vitest';
import { toPullError, toSetupError, type ErrorContext } from '../src/error-map.js';
import { isRetryable, type AttemptOutcome } from '../src/outcome.js';

const ctx: ErrorContext = { endpoint: '/status', scrub: (t) => t, now: new Date('2024-01-01T00:00:00Z'), attempts: 1 };
const proxy = (reason: string, message: string, proxyStatus?: number): AttemptOutcome =>
  ({ kind: 'failure', reason, message, status: null, ...(proxyStatus !== undefined ? { proxyStatus } : {}) }) as AttemptOutcome;

describe('proxy errors', () => {
  it.each<[string, AttemptOutcome, number, number, string, boolean]>([
    ['407', proxy('proxy-auth', 'the proxy p:3128 answered 407 to CONNECT dt:443', 407), 104, 302, 'Proxy authentication failed', false],
    ['403', proxy('proxy-refused', 'the proxy p:3128 answered 403 to CONNECT dt:443', 403), 105, 303, 'The proxy refused the connection', false],
    ['503', proxy('proxy-refused', 'the proxy p:3128 answered 503 to CONNECT dt:443', 503), 105, 303, 'The proxy refused the connection', true],
    ['down', proxy('proxy-unreachable', 'the proxy p:3128 cannot be reached (ECONNREFUSED)'), 106, 304, 'The proxy is unreachable', true],
  ])('%s', (_n, o, setupId, pullId, summary, retried) => {
    const s = toSetupError(o, ctx);
    expect(s).toBeInstanceOf(SetupError);
    expect(s.code).toBe(setupId);
    expect(s.detail.startsWith(`${summary}: the proxy p:3128`)).toBe(true);
    expect(s.detail).toContain('on /status');
    const p = toPullError(o, { ...ctx, attempts: 3 });
    expect(p).toBeInstanceOf(PullError);
    expect(p.code).toBe(pullId);
    expect(p.detail).toMatch(new RegExp(`^${summary} while retrieving events from Darktrace server: the proxy p:3128 .* on /status after 3 attempts; check`));
    expect(isRetryable(o)).toBe(retried);
    expect(s instanceof TransientSetupError).toBe(retried);
  });
});
