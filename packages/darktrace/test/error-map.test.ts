import { PullError, SetupError, TransientSetupError } from '@devo-collector/common';
import { describe, expect, it } from 'vitest';
import { toPullError, toSetupError, type ErrorContext } from '../src/error-map.js';
import type { AttemptOutcome } from '../src/outcome.js';

const SECRET = 'pubtoken-ABCDEF';
const ctx: ErrorContext = {
  endpoint: '/modelbreaches',
  scrub: (t) => t.split(SECRET).join('****'),
  now: new Date('2024-01-01T00:00:00Z'),
  attempts: 5,
};
const http = (status: number, bodyText = '', location?: string): AttemptOutcome =>
  ({ kind: 'http', status, bodyText, ...(location ? { location } : {}) }) as AttemptOutcome;
const fail = (reason: string, message = reason): AttemptOutcome => ({ kind: 'failure', reason, message, status: null }) as AttemptOutcome;

describe('toSetupError', () => {
  it.each<[string, AttemptOutcome, number, string]>([
    ['network', fail('network', 'ECONNREFUSED'), 100, 'Error occurred while requesting from the Darktrace server. Error message: ECONNREFUSED'],
    ['timeout', fail('timeout'), 100, 'Error occurred while requesting from the Darktrace server. Error message: timeout'],
    ['signature', http(400, '{"response": "API SIGNATURE ERROR"}'), 101, 'The tokens provided are incorrect. Please specify the correct credentials. Error message '],
    ['date', http(400, '{"response": "API DATE ERROR"}'), 101, 'The tokens provided are incorrect. Please specify the correct credentials. Error message API DATE ERROR: the clock of this machine'],
    ['302 /403', http(302, 'Found. Redirecting to /403', '/403'), 102, 'The provided tokens are valid but they do not have the permission to get data: Error message '],
    ['302 /login', http(302, 'Found. Redirecting to /login', '/login'), 102, 'The provided tokens are valid'],
    ['403', http(403, '{"response": "ERROR"}'), 102, 'The provided tokens are valid'],
    ['500', http(500, 'boom'), 103, 'Unexpected HTTP error occurred at the Darktrace server. status code, 500 error: '],
    ['400 input', http(400, '{"status": "INPUT ERROR"}'), 103, 'Unexpected HTTP error occurred at the Darktrace server. status code, 400 error: '],
  ])('%s', (_n, o, code, prefix) => {
    const e = toSetupError(o, ctx);
    expect(e).toBeInstanceOf(SetupError);
    expect(e.code).toBe(code);
    expect(e.detail.startsWith(prefix)).toBe(true);
  });

  it.each<[string, AttemptOutcome, number, number | null]>([
    ['network', fail('network', 'ECONNRESET'), 100, null],
    ['timeout', fail('timeout'), 100, null],
    ['429 with Retry-After', { kind: 'http', status: 429, bodyText: '', retryAfterMs: 1000 }, 103, 1000],
    ['500', http(500, 'boom'), 103, null],
    ['502', http(502, '<html>Bad Gateway</html>'), 103, null],
    ['408', http(408, ''), 103, null],
  ])('%s is transient (another try soon can fix it)', (_n, o, code, retryAfterMs) => {
    const e = toSetupError(o, ctx);
    expect(e).toBeInstanceOf(TransientSetupError);
    expect(e.code).toBe(code);
    expect((e as TransientSetupError).retryAfterMs).toBe(retryAfterMs);
  });

  it.each<[string, AttemptOutcome]>([
    ['signature', http(400, '{"response": "API SIGNATURE ERROR"}')],
    ['401', http(401, '')],
    ['403', http(403, '{"response": "ERROR"}')],
    ['302 /403', http(302, 'Found. Redirecting to /403', '/403')],
    ['404', http(404, 'not found')],
    ['oversize', fail('oversize')],
  ])('%s is not transient (the long retry period)', (_n, o) => {
    expect(toSetupError(o, ctx)).not.toBeInstanceOf(TransientSetupError);
  });

  it('says the clock is off by more than 30 minutes', () => {
    expect(toSetupError(http(400, '{"response": "API DATE ERROR"}'), ctx).message).toMatch(/off by more than 30 minutes/);
  });

  it('scrubs a token echoed by the server', () => {
    expect(toSetupError(http(500, `bad token ${SECRET}`), ctx).message).not.toContain(SECRET);
  });
});

describe('toPullError', () => {
  it("carries the appliance's Retry-After, so the puller's next try of the window waits it", () => {
    expect(toPullError({ kind: 'http', status: 429, bodyText: '', retryAfterMs: 7000 }, ctx).retryAfterMs).toBe(7000);
    expect(toPullError(http(500), ctx).retryAfterMs).toBeNull();
  });
  it('maps an HTTP status to 300 with summary and details', () => {
    const e = toPullError(http(502, '<html>Bad Gateway</html>'), ctx);
    expect(e).toBeInstanceOf(PullError);
    expect(e.code).toBe(300);
    expect(e.detail).toBe(
      'HTTP Error occurred while retrieving events from Darktrace server: summary HTTP 502 from /modelbreaches after 5 attempts details status 502 on /modelbreaches: <html>Bad Gateway</html>',
    );
  });
  it('maps anything else to 301', () => {
    const e = toPullError(fail('invalid-body', 'invalid or truncated JSON'), ctx);
    expect(e.code).toBe(301);
    expect(e.detail).toMatch(/^Some error occurred while retrieving events from Darktrace server\. Error details: invalid or truncated JSON/);
  });
  it('explains an API DATE ERROR during a pull', () => {
    expect(toPullError(http(400, '{"response": "API DATE ERROR"}'), ctx).detail).toMatch(/clock of this machine/);
  });
  it('scrubs tokens', () => {
    expect(toPullError(fail('network', `x ${SECRET}`), ctx).message).not.toContain(SECRET);
    expect(toPullError(http(500, SECRET), ctx).message).not.toContain(SECRET);
  });
});
