import { describe, expect, it } from 'vitest';
import { authProblem, isRetryable, type AttemptOutcome } from '../src/index.js';

const http = (status: number, bodyText = '', extra: Partial<AttemptOutcome> = {}): AttemptOutcome =>
  ({ kind: 'http', status, bodyText, ...extra }) as AttemptOutcome;
const fail = (reason: string, bodyText?: string): AttemptOutcome =>
  ({ kind: 'failure', reason, message: reason, status: null, ...(bodyText ? { bodyText } : {}) }) as AttemptOutcome;

describe('isRetryable', () => {
  it.each<[string, AttemptOutcome, boolean]>([
    ['200 ok', { kind: 'ok', status: 200, body: [] }, false],
    ['429', http(429), true],
    ['408', http(408), true],
    ['500', http(500), true],
    ['502', http(502), true],
    ['503', http(503), true],
    ['400 signature', http(400, '{"response": "API SIGNATURE ERROR"}'), false],
    ['400 date', http(400, '{"response": "API DATE ERROR"}'), false],
    ['400 input', http(400, '{"summarystatistics": "INPUT ERROR"}'), false],
    ['302', http(302, 'Found. Redirecting to /403', { location: '/403' }), false],
    ['403', http(403), false],
    ['404', http(404), false],
    ['network', fail('network'), true],
    ['timeout', fail('timeout'), true],
    ['invalid-body', fail('invalid-body'), true],
    ['html', fail('html'), true],
    ['oversize', fail('oversize'), false],
    ['aborted', fail('aborted'), false],
  ])('%s -> %s', (_n, o, expected) => {
    expect(isRetryable(o)).toBe(expected);
  });
});

describe('authProblem', () => {
  it.each<[AttemptOutcome, string | null]>([
    [http(400, '{"response": "API SIGNATURE ERROR"}'), 'signature'],
    [http(400, '{"response": "API DATE ERROR"}'), 'date'],
    [http(400, '{"other": "API DATE ERROR"}'), 'date'],
    [http(400, '{"summarystatistics": "INPUT ERROR"}'), null],
    [http(401), 'signature'],
    [http(403, '{"response": "ERROR"}'), 'permission'],
    [http(302, 'Found. Redirecting to /403', { location: '/403' }), 'permission'],
    [http(302, 'Found. Redirecting to /login', { location: '/login' }), 'login'],
    [fail('html', '<html><title>Log In | Darktrace</title></html>'), 'login'],
    [fail('html', '<html><title>Bad gateway</title></html>'), null],
    [http(500), null],
  ])('%j -> %s', (o, expected) => {
    expect(authProblem(o)).toBe(expected);
  });
});
